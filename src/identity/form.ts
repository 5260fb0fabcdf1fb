// The fields of an OAuth request or a sign-in form, each one piece of text. RFC 6749 section 3.1:
// a parameter "MUST NOT be included more than once"; and a JSON body's number, list or object is
// the client's mistake too. Either is refused here (400 invalid_request), before it can reach a
// lookup, a password check or the audit trail, which take text.
import { invalidRequest } from './oauth-errors.ts';

export type Form = Record<string, string | undefined>;

/** The fields of a parsed query or body (nothing given is no fields); anything but one text a field is refused. */
export function formFields(given: unknown): Form {
  if (given === undefined || given === null) return {};
  if (typeof given !== 'object' || Array.isArray(given)) throw invalidRequest('The request must be a form of named fields');
  const form: Form = {};
  for (const [key, value] of Object.entries(given)) {
    if (typeof value !== 'string') throw invalidRequest(`${key} must be given once, as text`);
    form[key] = value;
  }
  return form;
}
