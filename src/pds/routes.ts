// The PDS FHIR API at /personal-demographics/FHIR/R4: read, search and update of patients, with
// the NHS API's headers, errors and quirks (../shared/specs/README.md section 1).
import type { FastifyInstance, FastifyReply } from 'fastify';
import { currentContext, noteSubjects } from '../platform/context.ts';
import type { Database } from '../platform/db/connect.ts';
import { FHIR_JSON } from '../platform/http/errors.ts';
import { isValidNhsNumber } from '../platform/identifiers/nhs-number.ts';
import { spineCoding } from '../platform/errors.ts';
import { serviceCapability } from '../platform/fhir/capability.ts';
import { PdsErrors } from './errors.ts';
import { createPatient } from './create.ts';
import { assertPatchMediaType, expectedVersion, patchPatient, readPdsPatches } from './patch.ts';
import { servedPatient } from './patient-view.ts';
import { checkedCoverage, coverageBundle, coverageBundleOf, relatedPeopleBundle, saveCoverage } from './related.ts';
import { isSandboxFixture, sandboxAllocationNumbers } from './sandbox-patients.ts';
import { sandboxCannedSearch } from './sandbox-searches.ts';
import { parsePdsSearch, searchPatients } from './search.ts';
import { searchset } from './searchset.ts';
import { survivingRecord } from './supersession.ts';
import { readPatient, type PatientRow } from './store.ts';

export const PDS_BASE = '/personal-demographics/FHIR/R4';

const READ = { modes: ['healthcare-worker', 'application-restricted', 'patient', 'system'] as const };
const SEARCH = { modes: ['healthcare-worker', 'application-restricted', 'system'] as const };
/** Amending demographics needs the RBAC activity B0825 "Amend Patient Demographics". */
const UPDATE = { modes: ['healthcare-worker'] as const, activities: ['B0825'] };

/**
 * In sandbox mode, new NHS numbers, updates of the sandbox's fixed patients (sandbox-patients.ts) and
 * the searches it answers with canned results (sandbox-searches.ts) are as the NHS sandbox gives them.
 */
export function registerPdsRoutes(app: FastifyInstance, deps: { db: Database; publicBaseUrl: string; sandbox: boolean }): void {
  const { db, sandbox } = deps;
  const baseUrl = deps.publicBaseUrl + PDS_BASE;

  app.register(async (pds) => {
    // PDS requires an X-Request-ID on every call (the platform checks that it is a UUID).
    pds.addHook('onRequest', async (request) => {
      if (request.headers['x-request-id'] === undefined && request.routeOptions.url !== `${PDS_BASE}/metadata`) throw PdsErrors.missingRequestId();
    });

    pds.get(`${PDS_BASE}/metadata`, { config: { access: { public: true } } }, async (_request, reply) => reply.type(FHIR_JSON).send(capability(baseUrl)));

    pds.get<{ Params: { id: string } }>(`${PDS_BASE}/Patient/:id`, { config: { access: { modes: [...READ.modes] }, interaction: 'read' } }, async (request, reply) => {
      const row = await currentRecord(db, request.params.id);
      noteRecordAccess(row);
      return sendPatient(reply, row);
    });

    pds.get(`${PDS_BASE}/Patient`, { config: { access: { modes: [...SEARCH.modes] }, interaction: 'search-type' } }, async (request, reply) => {
      const applicationRestricted = currentContext()?.actor?.mode === 'application-restricted';
      const query = request.query as Record<string, string | string[]>;
      const search = parsePdsSearch(query, applicationRestricted);
      const outcome = (sandbox ? await sandboxCannedSearch(db, query) : undefined) ?? (await searchPatients(db, search));
      if (outcome.kind === 'too-many') {
        if (applicationRestricted) throw PdsErrors.tooManyMatchesForApplication();
        // PDS answers a search matching too many with HTTP 200 and an OperationOutcome, not a Bundle.
        return reply.type(FHIR_JSON).send({ resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'multiple-matches', details: { coding: [spineCoding('TOO_MANY_MATCHES')] } }] });
      }
      noteSubjects({ patientNhsNumbers: outcome.matches.map((match) => match.row.nhsNumber) });
      return reply
        .type(FHIR_JSON)
        .send(searchset(outcome.matches.map((match) => ({ fullUrl: `${baseUrl}/Patient/${match.row.nhsNumber}`, search: { score: match.score }, resource: servedPatient(match.row) }))));
    });

    pds.get<{ Params: { id: string } }>(`${PDS_BASE}/Patient/:id/RelatedPerson`, { config: { access: { modes: [...READ.modes] }, interaction: 'search-related-person' } }, async (request, reply) => {
      const row = await currentRecord(db, request.params.id);
      noteRecordAccess(row);
      return reply.type(FHIR_JSON).send(await relatedPeopleBundle(db, row, baseUrl));
    });

    // EHIC coverage is for patient access (NHS login) only.
    pds.get(`${PDS_BASE}/Coverage`, { config: { access: { modes: ['patient', 'system'] }, interaction: 'search-coverage' } }, async (request, reply) => {
      const subscriber = (request.query as Record<string, string | string[] | undefined>)['subscriber:identifier'];
      if (typeof subscriber !== 'string' || Object.keys(request.query as object).length !== 1) {
        throw PdsErrors.invalidSearchData("Invalid search data provided - 'Coverage search request must follow the format /Coverage?subscriber:identifier=NHS_NUMBER'");
      }
      const row = await currentRecord(db, subscriber.split('|').pop() ?? '');
      noteRecordAccess(row);
      return reply.header('etag', `W/"${row.versionId}"`).type(FHIR_JSON).send(await coverageBundle(db, row, baseUrl));
    });

    // Replaces the patient's EHIC record, over the record's version in If-Match.
    pds.post(`${PDS_BASE}/Coverage`, { config: { access: { modes: ['patient', 'system'] }, interaction: 'update-coverage' } }, async (request, reply) => {
      const version = expectedVersion(request.headers['if-match']);
      const { coverage, nhsNumber } = checkedCoverage(request.body);
      const row = await currentRecord(db, nhsNumber);
      noteRecordAccess(row);
      const keep = !(sandbox && isSandboxFixture(row.nhsNumber));
      const saved = await saveCoverage(db, row, coverage, version, keep);
      const bundle = keep ? await coverageBundle(db, row, baseUrl) : coverageBundleOf(row, coverage, baseUrl);
      return reply.status(201).header('etag', `W/"${saved}"`).type(FHIR_JSON).send(bundle);
    });

    pds.post(`${PDS_BASE}/Patient`, { config: { access: { modes: ['healthcare-worker'] }, interaction: 'create' } }, async (request, reply) => {
      const row = await createPatient(db, request.body, sandbox ? sandboxAllocationNumbers() : []);
      noteSubjects({ patientNhsNumbers: [row.nhsNumber] });
      return sendPatient(reply.status(201), row);
    });

    // Any media type reaches the PATCH handler, so that its checks run in the spec's order
    // (patient-patch.yaml's sandbox scenarios; the NHS sandbox's patch-patient.js): the NHS number,
    // then the patient, If-Match and its version, then the Content-Type, then the patches.
    pds.register(async (patching) => {
      patching.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
      patching.patch<{ Params: { id: string } }>(`${PDS_BASE}/Patient/:id`, { config: { access: { modes: [...UPDATE.modes], activities: UPDATE.activities }, interaction: 'patch' } }, async (request, reply) => {
        const row = await currentRecord(db, request.params.id);
        noteSubjects({ patientNhsNumbers: [row.nhsNumber] });
        const version = expectedVersion(request.headers['if-match']);
        if (version !== row.versionId) throw PdsErrors.versionMismatch(row.versionId);
        assertPatchMediaType(request.headers['content-type']);
        const operations = readPdsPatches(request.body);
        const keep = !(sandbox && isSandboxFixture(row.nhsNumber));
        return sendPatient(reply, await patchPatient(db, row.nhsNumber, operations, version, keep));
      });
    });
  });
}

/**
 * The record of an NHS number: a superseded number gives its survivor (whose id then differs). The
 * number asked for is audited, found or not, beside the survivor's (noteRecordAccess).
 */
async function currentRecord(db: Database, nhsNumber: string): Promise<PatientRow> {
  if (!isValidNhsNumber(nhsNumber)) throw PdsErrors.invalidNhsNumber();
  noteSubjects({ patientNhsNumbers: [nhsNumber] });
  const row = await survivingRecord(db, await readPatient(db, nhsNumber));
  if (!row) throw PdsErrors.notFound();
  if (row.invalidated) throw PdsErrors.invalidated();
  return row;
}

/**
 * Notes the record's patient for the audit trail, then refuses a patient (NHS login) any record but
 * their own: the refusal's record names whose record was asked for.
 */
function noteRecordAccess(row: PatientRow): void {
  noteSubjects({ patientNhsNumbers: [row.nhsNumber] });
  const actor = currentContext()?.actor;
  if (actor?.mode === 'patient' && actor.userId !== row.nhsNumber) throw PdsErrors.notOwnRecord();
}

function sendPatient(reply: FastifyReply, row: PatientRow): FastifyReply {
  return reply.header('etag', `W/"${row.versionId}"`).type(FHIR_JSON).send(servedPatient(row));
}

function capability(baseUrl: string) {
  const params = ['family', 'given', 'gender', 'birthdate', 'death-date', 'address-postalcode', 'general-practitioner', 'email', 'phone', '_fuzzy-match', '_exact-match', '_history', '_max-results'];
  return serviceCapability({ software: 'OpenSpine Personal Demographics Service', description: 'PDS FHIR API', baseUrl, patch: true }, {
    mode: 'server',
    resource: [
      { type: 'Patient', interaction: [{ code: 'read' }, { code: 'search-type' }, { code: 'patch' }, { code: 'create' }], versioning: 'versioned-update', searchParam: params.map((name) => ({ name, type: 'string' })) },
      { type: 'RelatedPerson', interaction: [{ code: 'search-type' }] },
      { type: 'Coverage', interaction: [{ code: 'search-type' }, { code: 'create' }], searchParam: [{ name: 'subscriber:identifier', type: 'token' }] },
    ],
  });
}
