// The prescription tracker, GET Task?...: where a prescription is, for prescribers, pharmacies and
// 111 (../shared/specs/README.md section 2; the Task shape of examples/spec/errors/task/success.json).
import type { Bundle, Task } from '@medplum/fhirtypes';
import { randomUUID } from 'node:crypto';
import type { Database } from '../platform/db/connect.ts';
import { isValidNhsNumber } from '../platform/identifiers/nhs-number.ts';
import { SpineError } from '../platform/errors.ts';
import { BUSINESS_STATUS_SYSTEM, MESSAGE_EVENT_SYSTEM, NHS_NUMBER_SYSTEM, ODS_SYSTEM } from './fhir-read.ts';
import { STATUS_DISPLAY, TASK_STATUS } from './lifecycle.ts';
import { SHORT_FORM_SYSTEM } from './prescription-id.ts';
import { searchPrescriptions, type TrackedPrescription, type TrackerQuery } from './store.ts';

/** The most prescriptions one tracker search answers with. */
const TRACKER_LIMIT = 100;
const DATE = /^(eq|le|ge|lt|gt)?(\d{4}-\d{2}-\d{2})$/;

/** As examples/spec/errors/task/query-error.json: an OperationOutcome with no NHS coding. */
function queryError(diagnostics: string): SpineError {
  const error = new SpineError({ status: 400, code: 'invalid', spineCode: 'INVALID_VALUE', diagnostics });
  error.toOperationOutcome = () => ({ resourceType: 'OperationOutcome', meta: { lastUpdated: new Date().toISOString() }, issue: [{ severity: 'error', code: 'invalid', diagnostics }] });
  return error;
}

export function parseTrackerQuery(query: Record<string, string | string[] | undefined>): TrackerQuery {
  const single = (name: string): string | undefined => {
    const value = query[name];
    if (Array.isArray(value)) throw queryError(`Query parameter '${name}' may be given once.`);
    return value === undefined ? undefined : value.split('|').pop();
  };
  const shortId = single('focus:identifier') ?? single('identifier');
  const patientNhsNumber = single('patient:identifier');
  if (shortId === undefined && patientNhsNumber === undefined) throw queryError('Query parameter must be one of: identifier, focus:identifier, patient:identifier.');
  if (patientNhsNumber !== undefined && !isValidNhsNumber(patientNhsNumber)) throw queryError(`Invalid NHS number '${patientNhsNumber}' in patient:identifier.`);
  const status = single('business-status');
  if (status !== undefined && STATUS_DISPLAY[status] === undefined) throw queryError(`Unknown business-status '${status}'.`);
  const result: TrackerQuery = { limit: TRACKER_LIMIT };
  if (shortId !== undefined) result.shortId = shortId.toUpperCase();
  if (patientNhsNumber !== undefined) result.patientNhsNumber = patientNhsNumber;
  if (status !== undefined) result.status = status;
  const dates = query['authored-on'];
  for (const value of dates === undefined ? [] : Array.isArray(dates) ? dates : [dates]) {
    const match = DATE.exec(value);
    if (!match?.[2] || Number.isNaN(Date.parse(match[2]))) throw queryError(`Invalid authored-on '${value}': give a date, optionally prefixed eq, le, ge, lt or gt.`);
    const day = new Date(`${match[2]}T00:00:00Z`);
    const next = new Date(day.getTime() + 86_400_000);
    const prefix = match[1] ?? 'eq';
    if (prefix === 'eq' || prefix === 'ge') result.from = day;
    if (prefix === 'gt') result.from = next;
    if (prefix === 'eq' || prefix === 'le') result.to = next;
    if (prefix === 'lt') result.to = day;
  }
  return result;
}

export async function trackPrescriptions(db: Database, query: Record<string, string | string[] | undefined>): Promise<{ response: Bundle; patients: string[]; shortIds: string[] }> {
  const found = await searchPrescriptions(db, parseTrackerQuery(query));
  const now = new Date().toISOString();
  const id = randomUUID();
  const response: Bundle = {
    resourceType: 'Bundle',
    id,
    meta: { lastUpdated: now },
    identifier: { system: 'https://tools.ietf.org/html/rfc4122', value: id },
    type: 'searchset',
    total: found.length,
    entry: found.map((prescription) => ({ resource: taskOf(prescription) })),
  };
  return { response, patients: [...new Set(found.map((prescription) => prescription.patientNhsNumber))], shortIds: found.map((prescription) => prescription.shortId) };
}

function taskOf(prescription: TrackedPrescription): Task {
  const { issue } = prescription;
  const repeat = prescription.courseOfTherapy === 'continuous-repeat-dispensing';
  return {
    resourceType: 'Task',
    id: prescription.longId,
    extension: [
      { url: 'https://fhir.nhs.uk/StructureDefinition/Extension-EPS-Prescription', extension: [{ url: 'courseOfTherapyType', valueCoding: { system: 'https://fhir.nhs.uk/CodeSystem/medicationrequest-course-of-therapy', code: prescription.courseOfTherapy } }] },
      ...(repeat
        ? [{ url: 'https://fhir.nhs.uk/StructureDefinition/Extension-EPS-RepeatInformation', extension: [{ url: 'numberOfRepeatsAllowed', valueUnsignedInt: prescription.issuesAuthorised }, { url: 'numberOfRepeatsIssued', valueUnsignedInt: issue.issueNumber }] }]
        : []),
    ],
    identifier: [{ system: 'https://tools.ietf.org/html/rfc4122', value: prescription.longId }],
    status: TASK_STATUS[issue.status] ?? 'draft',
    businessStatus: { coding: [{ system: BUSINESS_STATUS_SYSTEM, code: issue.status, display: STATUS_DISPLAY[issue.status] ?? issue.status }] },
    intent: 'order',
    code: { coding: [{ system: MESSAGE_EVENT_SYSTEM, code: 'prescription-order', display: 'Prescription Order' }] },
    focus: { identifier: { system: SHORT_FORM_SYSTEM, value: prescription.shortId } },
    for: { identifier: { system: NHS_NUMBER_SYSTEM, value: prescription.patientNhsNumber } },
    requester: { identifier: { system: ODS_SYSTEM, value: prescription.prescriberOds } },
    ...(issue.dispensingOds ?? issue.nominatedOds ? { owner: { identifier: { system: ODS_SYSTEM, value: issue.dispensingOds ?? issue.nominatedOds ?? '' } } } : {}),
    authoredOn: prescription.createdAt.toISOString(),
    lastModified: issue.updatedAt.toISOString(),
  };
}
