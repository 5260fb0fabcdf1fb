// Prescription ids: the short form with its ISO 7064 MOD 37-2 check character, and the long-form
// UUID (../shared/specs/README.md section 2, "Prescription IDs"; the NHS tool's
// packages/tool/site/client/src/fhir/generatePrescriptionIds.ts computes the same check).
import { randomBytes, randomUUID } from 'node:crypto';

export const SHORT_FORM_SYSTEM = 'https://fhir.nhs.uk/Id/prescription-order-number';
export const LONG_FORM_SYSTEM = 'https://fhir.nhs.uk/Id/prescription';
export const LONG_FORM_EXTENSION = 'https://fhir.nhs.uk/StructureDefinition/Extension-DM-PrescriptionId';

const CHECK_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ+';
/**
 * 6 hex, the prescriber's ODS code zero-padded to 6, 5 hex, the check character. The spec's schema
 * forces the ODS segment to hex, wrongly (ODS codes have letters past F), so it is any A-Z0-9 here.
 */
const SHORT_FORM = /^[0-9A-F]{6}-[0-9A-Z]{6}-[0-9A-F]{5}[0-9A-Z+]$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The MOD 37-2 running total over the 17 characters without dashes (and without the check). */
function checkTotal(body: string): number {
  let total = 0;
  for (const character of body) total = ((total + parseInt(character, 36)) * 2) % 37;
  return total;
}

export function checkCharacterOf(body: string): string {
  return CHECK_ALPHABET[(38 - checkTotal(body.replaceAll('-', ''))) % 37] ?? '';
}

export type ShortIdProblem = 'format' | 'check-character';

/** Why a short-form id is not valid, or undefined when it is. */
export function shortFormProblem(id: string): ShortIdProblem | undefined {
  if (!SHORT_FORM.test(id)) return 'format';
  const body = id.slice(0, -1).replaceAll('-', '');
  const check = CHECK_ALPHABET.indexOf(id.slice(-1));
  return (checkTotal(body) + check) % 37 === 1 ? undefined : 'check-character';
}

export function isValidShortForm(id: string): boolean {
  return shortFormProblem(id) === undefined;
}

export function isValidLongForm(id: string): boolean {
  return UUID.test(id);
}

/** A new short-form id for a prescription from this organisation. */
export function generateShortForm(prescriberOds: string): string {
  const hex = randomBytes(6).toString('hex').toUpperCase();
  const ods = prescriberOds.toUpperCase().padStart(6, '0').slice(-6);
  const body = `${hex.slice(0, 6)}-${ods}-${hex.slice(6, 11)}`;
  return body + checkCharacterOf(body);
}

export function generateLongForm(): string {
  return randomUUID();
}
