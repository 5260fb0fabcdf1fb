// The audit service's named errors: what an auditor is told when a search or read cannot be answered.
import { Errors, SpineError } from '../platform/errors.ts';

export const AuditErrors = {
  /** An auditor must say what they are looking for: the whole trail is not browsed. */
  noCriterion: () =>
    Errors.invalidSearchData('Search the audit trail by at least one of patient, user, organisation or date'),
  unknownParameter: (name: string, known: readonly string[]) =>
    Errors.invalidSearchData(`Unknown search parameter '${name}' for AuditEvent; supported: ${known.join(', ')}`),
  repeated: (name: string) =>
    Errors.invalidSearchData(`Give '${name}' once; separate alternatives with commas`),
  invalidValue: (name: string, value: string, hint: string) =>
    Errors.invalidSearchData(`Invalid value - '${value}' in field '${name}': ${hint}`),
  recordNotFound: (id: string) => Errors.notFound(`AuditEvent/${id} not found`),
  /** The block that holds a record cannot be unpacked or read as records: the trail is damaged there. */
  blockUnreadable: (first: number, last: number) =>
    new SpineError({
      status: 500,
      code: 'exception',
      spineCode: 'UNKNOWN_ERROR',
      diagnostics: `The audit trail is damaged: the block of records ${first} to ${last} cannot be read; run \`openspine audit verify\``,
    }),
  /**
   * The row that says where the trail ends was deleted (the database refuses that to all but its
   * owner): nothing can be read or appended as the chain until it is restored. Server damage, so a 500.
   */
  chainHeadMissing: () =>
    new SpineError({
      status: 500,
      code: 'exception',
      spineCode: 'UNKNOWN_ERROR',
      diagnostics: 'The audit trail is damaged: its chain head (audit_chain_head, id 1) is missing, so where the trail ends is not known; run `openspine audit verify`',
    }),
};
