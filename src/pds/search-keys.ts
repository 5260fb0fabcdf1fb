// The search keys of a patient, as the PDS trace compares them: upper-case names without accents,
// Soundex codes for fuzzy matches, common nicknames, postcodes without spaces.
import type { Patient } from '@medplum/fhirtypes';

export type SearchKeys = {
  family: string;
  given: string;
  familyPhonetic: string;
  givenPhonetic: string;
  gender: string | null;
  birthDate: string | null;
  deathDate: string | null;
  postcode: string | null;
  gpOds: string | null;
  email: string | null;
  phone: string | null;
};

/** Upper case, accents removed, only letters, spaces, hyphens and apostrophes kept. */
export function normalizeName(name: string): string {
  return name.normalize('NFD').replace(/\p{M}/gu, '').toUpperCase().replace(/[^A-Z '-]/g, '').trim();
}

export function normalizePostcode(postcode: string): string {
  return postcode.toUpperCase().replace(/\s+/g, '');
}

/** American Soundex: the first letter and three digits for the consonant sounds that follow. */
export function soundex(name: string): string {
  const letters = normalizeName(name).replace(/[^A-Z]/g, '');
  if (!letters) return '';
  const codes: Record<string, string> = { B: '1', F: '1', P: '1', V: '1', C: '2', G: '2', J: '2', K: '2', Q: '2', S: '2', X: '2', Z: '2', D: '3', T: '3', L: '4', M: '5', N: '5', R: '6' };
  let result = letters[0] ?? '';
  let previous = codes[result] ?? '';
  for (const letter of letters.slice(1)) {
    const code = codes[letter] ?? '';
    if (code && code !== previous) result += code;
    // H and W do not separate letters of the same code; vowels do.
    if (letter !== 'H' && letter !== 'W') previous = code;
    if (result.length === 4) break;
  }
  return result.padEnd(4, '0');
}

/** Common English nicknames and the given names they stand for, for fuzzy matching. */
const NICKNAMES: Record<string, string> = {
  BILL: 'WILLIAM', BILLY: 'WILLIAM', WILL: 'WILLIAM', LIZ: 'ELIZABETH', BETH: 'ELIZABETH', BETTY: 'ELIZABETH', LIZZIE: 'ELIZABETH',
  BOB: 'ROBERT', ROB: 'ROBERT', BOBBY: 'ROBERT', JIM: 'JAMES', JIMMY: 'JAMES', JAMIE: 'JAMES', DICK: 'RICHARD', RICK: 'RICHARD',
  MAGGIE: 'MARGARET', MEG: 'MARGARET', PEGGY: 'MARGARET', KATE: 'KATHERINE', KATIE: 'KATHERINE', CATHY: 'CATHERINE', TOM: 'THOMAS',
  TOMMY: 'THOMAS', TONY: 'ANTHONY', SUE: 'SUSAN', SUSIE: 'SUSAN', DAVE: 'DAVID', MIKE: 'MICHAEL', MICK: 'MICHAEL', JACK: 'JOHN',
  JOHNNY: 'JOHN', STEVE: 'STEPHEN', CHRIS: 'CHRISTOPHER', ALEX: 'ALEXANDER', SANDY: 'ALEXANDRA', PAT: 'PATRICIA', TED: 'EDWARD',
  NED: 'EDWARD', EDDIE: 'EDWARD', HARRY: 'HENRY', SALLY: 'SARAH', JENNY: 'JENNIFER', NICK: 'NICHOLAS', SAM: 'SAMUEL', BEN: 'BENJAMIN',
};

/** The full given name a nickname stands for, or the name itself. */
export function formalGivenName(given: string): string {
  const name = normalizeName(given);
  return NICKNAMES[name] ?? name;
}

export function searchKeysOf(patient: Patient): SearchKeys {
  const name = patient.name?.find((candidate) => candidate.use === 'usual') ?? patient.name?.[0];
  const address = patient.address?.find((candidate) => candidate.use === 'home') ?? patient.address?.[0];
  const family = normalizeName(name?.family ?? '');
  const given = normalizeName(name?.given?.[0] ?? '');
  const telecom = (system: string) => patient.telecom?.find((contact) => contact.system === system)?.value?.toLowerCase() ?? null;
  return {
    family,
    given,
    familyPhonetic: soundex(family),
    givenPhonetic: soundex(formalGivenName(given)),
    gender: patient.gender ?? null,
    birthDate: patient.birthDate ?? null,
    deathDate: patient.deceasedDateTime?.slice(0, 10) ?? null,
    postcode: address?.postalCode ? normalizePostcode(address.postalCode) : null,
    gpOds: patient.generalPractitioner?.[0]?.identifier?.value ?? null,
    email: telecom('email'),
    phone: telecom('phone')?.replace(/\s+/g, '') ?? null,
  };
}
