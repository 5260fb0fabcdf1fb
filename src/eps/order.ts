// Reading a prescription-order message: the facts EPS keeps about a prescription, checked for the
// structure fhir-prescribing.yaml asks of it, every problem reported at once.
import type { Bundle, MedicationRequest, Organization, Patient, Practitioner, PractitionerRole } from '@medplum/fhirtypes';
import { isValidNhsNumber } from '../platform/identifiers/nhs-number.ts';
import { EpsErrors } from './errors.ts';
import {
  extensionOf, identifierOf, isResource, Issues, ITEM_SYSTEM, MESSAGE_EVENT_SYSTEM, NHS_NUMBER_SYSTEM, ODS_SYSTEM, resolve, resourcesOf, ROLE_PROFILE_SYSTEM, USER_ID_SYSTEM,
} from './fhir-read.ts';
import { isValidLongForm, LONG_FORM_EXTENSION, SHORT_FORM_SYSTEM, shortFormProblem } from './prescription-id.ts';

/** EPS carries at most four line items in one prescription. */
export const MAX_LINE_ITEMS = 4;
const COURSES = ['acute', 'continuous', 'continuous-repeat-dispensing'] as const;
export type CourseOfTherapy = (typeof COURSES)[number];
const INTENTS = ['order', 'original-order', 'instance-order'];
const UKCORE_REPEAT_INFORMATION = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-MedicationRepeatInformation';

export type PrescriptionOrder = {
  shortId: string;
  longId: string;
  patientNhsNumber: string;
  prescriberOds: string;
  roleProfileId: string;
  userId: string;
  /** The pharmacy in dispenseRequest.performer, when the prescriber named one. */
  nominatedOds: string | undefined;
  courseOfTherapy: CourseOfTherapy;
  /** Issues of a repeat-dispensing prescription (numberOfRepeatsAllowed + 1); 1 otherwise. */
  issuesAuthorised: number;
  itemIds: string[];
  /** validityPeriod.end of the first item, when given. */
  validUntil: string | undefined;
  /** validityPeriod.start of the first item, else its authoredOn: the date validity counts from. */
  validFrom: string | undefined;
  /** Repeat dispensing: the authorisationExpiryDate of Extension-UKCore-MedicationRepeatInformation, the end of the whole authorisation. */
  authorisationExpiry: string | undefined;
  /** The requester PractitionerRole's full URL, whom the Provenance must name. */
  requesterReference: string;
};

/** The message event of a $process-message bundle. */
export function messageEventOf(body: unknown): { bundle: Bundle; event: string } {
  if (!isResource(body, 'Bundle')) throw EpsErrors.invalidMessage("The body must be a FHIR Bundle of type 'message'", 'Bundle');
  const bundle = body as Bundle;
  const header = bundle.entry?.[0]?.resource;
  if (bundle.type !== 'message' || !header || header.resourceType !== 'MessageHeader') {
    throw EpsErrors.invalidMessage("A message Bundle's first entry must be its MessageHeader", 'Bundle.entry[0].resource');
  }
  const coding = (header).eventCoding;
  if (coding?.system !== MESSAGE_EVENT_SYSTEM || !coding.code) throw EpsErrors.invalidMessage('MessageHeader.eventCoding must be a message-event code', 'MessageHeader.eventCoding');
  return { bundle, event: coding.code };
}

/** Reads an order; throws every structural problem at once, then a bad check character on its own. */
export function readPrescriptionOrder(bundle: Bundle): PrescriptionOrder {
  const issues = new Issues();
  const requests = resourcesOf<MedicationRequest>(bundle, 'MedicationRequest');
  if (requests.length === 0) issues.add('A prescription must have at least one MedicationRequest', 'Bundle.entry.resource.ofType(MedicationRequest)', 'required');
  if (requests.length > MAX_LINE_ITEMS) issues.add(`A prescription may have at most ${MAX_LINE_ITEMS} MedicationRequests`, 'Bundle.entry.resource.ofType(MedicationRequest)');
  const first = requests[0];
  const shortIds = new Set(requests.map((request) => request.groupIdentifier?.value));
  const longIds = new Set(requests.map((request) => longIdOf(request)));
  if (shortIds.size > 1 || longIds.size > 1) issues.add('All MedicationRequests must have the same groupIdentifier', 'Bundle.entry.resource.ofType(MedicationRequest).groupIdentifier');
  if (requests.some((request) => !INTENTS.includes(request.intent ?? ''))) {
    issues.add('MedicationRequest.intent must be order, original-order or instance-order.', 'Bundle.entry.resource.ofType(MedicationRequest).intent');
  }
  const courses = new Set(requests.map((request) => request.courseOfTherapyType?.coding?.[0]?.code ?? ''));
  const course = courseOf(courses);
  if (!course) issues.add("Course of therapy type must either match for all MedicationRequests or be a mixture of 'acute' and 'continuous'.", 'MedicationRequest.courseOfTherapyType.coding', 'invalid');
  const itemIds = requests.map((request) => identifierOf(request.identifier, ITEM_SYSTEM) ?? '');
  if (itemIds.some((id) => id === '') || new Set(itemIds).size !== itemIds.length) {
    issues.add('Each MedicationRequest needs its own prescription-order-item-number identifier', 'Bundle.entry.resource.ofType(MedicationRequest).identifier');
  }
  const shortId = first?.groupIdentifier?.system === SHORT_FORM_SYSTEM ? first.groupIdentifier.value ?? '' : '';
  const longId = first ? longIdOf(first) ?? '' : '';
  if (!isValidLongForm(longId)) issues.add('The long-form prescription id must be a UUID', 'MedicationRequest.groupIdentifier.extension(Extension-DM-PrescriptionId)');
  const shortIdProblem = shortFormProblem(shortId);
  if (shortIdProblem === 'format') issues.add(`Invalid short-form prescription id '${shortId}'`, 'MedicationRequest.groupIdentifier.value');

  const patient = resolve<Patient>(bundle, first?.subject?.reference);
  const patientNhsNumber = identifierOf(patient?.identifier, NHS_NUMBER_SYSTEM) ?? '';
  if (patient?.resourceType !== 'Patient' || !isValidNhsNumber(patientNhsNumber)) issues.add('The subject must be a Patient with a valid NHS number', 'Patient.identifier');
  if (requests.some((request) => request.subject?.reference !== first?.subject?.reference)) issues.add('All MedicationRequests must be for the same patient', 'MedicationRequest.subject');

  const requesterReference = first?.requester?.reference ?? '';
  const role = resolve<PractitionerRole>(bundle, requesterReference);
  const practitioner = resolve<Practitioner>(bundle, role?.practitioner?.reference);
  const organisation = resolve<Organization>(bundle, role?.organization?.reference);
  const roleProfileId = identifierOf(role?.identifier, ROLE_PROFILE_SYSTEM) ?? '';
  const userId = identifierOf(practitioner?.identifier, USER_ID_SYSTEM) ?? '';
  const prescriberOds = identifierOf(organisation?.identifier, ODS_SYSTEM) ?? '';
  if (role?.resourceType !== 'PractitionerRole' || !roleProfileId) issues.add('The requester must be a PractitionerRole with an sds-role-profile-id', 'MedicationRequest.requester');
  if (practitioner?.resourceType !== 'Practitioner' || !userId) issues.add("The requester's Practitioner must have an sds-user-id", 'Practitioner.identifier');
  if (organisation?.resourceType !== 'Organization' || !prescriberOds) issues.add("The requester's Organization must have an ODS code", 'Organization.identifier');
  if (requests.some((request) => request.requester?.reference !== requesterReference)) issues.add('All MedicationRequests must have the same requester', 'MedicationRequest.requester');
  issues.throwIfAny();
  if (shortIdProblem === 'check-character') throw EpsErrors.invalidCheckDigit(shortId);

  const repeatsAllowed = first?.dispenseRequest?.numberOfRepeatsAllowed;
  return {
    shortId,
    longId: longId.toLowerCase(),
    patientNhsNumber,
    prescriberOds,
    roleProfileId,
    userId,
    nominatedOds: identifierOf(first?.dispenseRequest?.performer?.identifier, ODS_SYSTEM),
    courseOfTherapy: course ?? 'acute',
    issuesAuthorised: course === 'continuous-repeat-dispensing' ? Math.min(99, Math.max(1, (repeatsAllowed ?? 0) + 1)) : 1,
    itemIds,
    validUntil: first?.dispenseRequest?.validityPeriod?.end,
    validFrom: first?.dispenseRequest?.validityPeriod?.start ?? first?.authoredOn,
    authorisationExpiry: extensionOf(extensionOf(first, UKCORE_REPEAT_INFORMATION), 'authorisationExpiryDate')?.valueDateTime,
    requesterReference,
  };
}

function longIdOf(request: MedicationRequest): string | undefined {
  return request.groupIdentifier?.extension?.find((extension) => extension.url === LONG_FORM_EXTENSION)?.valueIdentifier?.value;
}

/** One course for all items, or acute and continuous mixed (which is repeat prescribing). */
function courseOf(codes: Set<string>): CourseOfTherapy | undefined {
  if (codes.size === 2 && codes.has('acute') && codes.has('continuous')) return 'continuous';
  const [only] = [...codes];
  return codes.size === 1 && (COURSES as readonly string[]).includes(only ?? '') ? (only as CourseOfTherapy) : undefined;
}
