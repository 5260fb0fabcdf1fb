// NHS numbers: ten digits, the last a Modulus 11 check digit over the first nine (weights 10 to 2);
// a check of 10 makes the number invalid. ../shared/specs/README.md section 7.
import { randomInt } from 'node:crypto';

export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';

/** The check digit of nine digits, or undefined when no valid number starts with them. */
export function nhsNumberCheckDigit(firstNine: string): number | undefined {
  let sum = 0;
  for (let index = 0; index < 9; index++) sum += Number(firstNine[index]) * (10 - index);
  const check = (11 - (sum % 11)) % 11;
  return check === 10 ? undefined : check;
}

export function isValidNhsNumber(value: string): boolean {
  if (!/^\d{10}$/.test(value)) return false;
  return nhsNumberCheckDigit(value.slice(0, 9)) === Number(value[9]);
}

/**
 * A random valid NHS number. `prefix` fixes the leading digits: test numbers start with 9 (the
 * 999 range is reserved for testing); uniqueness against issued numbers is the caller's (PDS's) job.
 */
export function randomNhsNumber(prefix = '9'): string {
  if (!/^\d{0,9}$/.test(prefix)) throw new Error(`NHS number prefix must be up to nine digits, not '${prefix}'`);
  for (;;) {
    let firstNine = prefix;
    while (firstNine.length < 9) firstNine += String(randomInt(10));
    const check = nhsNumberCheckDigit(firstNine);
    if (check !== undefined) return firstNine + String(check);
  }
}
