// The FHIR RESTful API of a service base (read, vread, search, create, update, patch, delete,
// history, transaction, metadata): thin adapters around ./resources.ts.
// https://hl7.org/fhir/R4/http.html
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessRule } from '../http/access.ts';
import { FHIR_JSON } from '../http/errors.ts';
import { etagOf, historyJson, processTransaction, searchsetJson } from './bundles.ts';
import { capabilityStatement } from './capability.ts';
import { readPatchOperations } from './patch.ts';
import {
  createResource,
  deleteResource,
  patchResource,
  readResource,
  readResourceVersion,
  resourceHistory,
  searchResources,
  updateResource,
  type FhirStore,
  type StoredVersion,
} from './resources.ts';
import { SEARCH_LIMITS, type QueryValues } from './search-query.ts';
import { dateRange } from './dates.ts';
import { Errors } from '../errors.ts';
import { noteSubjects } from '../context.ts';

export type FhirApiOptions = {
  name: string;
  /** Path of the service base, e.g. `/spine-directory/FHIR/R4`. */
  base: string;
  publicBaseUrl: string;
  fhir: FhirStore;
  access: { read: AccessRule; write: AccessRule };
  /** Whether these resources are patients' data: when not, a success is not held for its audit record (src/platform/http/audit-hook.ts). */
  patientData: boolean;
};

type TypeParams = { type: string };
type InstanceParams = { type: string; id: string };

export function registerFhirApi(app: FastifyInstance, options: FhirApiOptions): void {
  const { base, fhir } = options;
  const baseUrl = options.publicBaseUrl + base;
  const { patientData } = options;
  const read = (interaction: string) => ({ config: { access: options.access.read, interaction, patientData } });
  const write = (interaction: string) => ({ config: { access: options.access.write, interaction, patientData } });
  const capability = JSON.stringify(capabilityStatement({ name: options.name, baseUrl, resources: fhir.resources.values(), date: new Date().toISOString() }));

  app.get(`${base}/metadata`, { config: { access: { public: true } } }, async (_request, reply) => reply.type(FHIR_JSON).send(capability));

  app.post(`${base}`, write('transaction'), async (request, reply) => {
    const response = await processTransaction(fhir, baseUrl, request.body);
    noteSubjects({ resourceIds: (response.entry ?? []).flatMap((entry) => entry.response?.location?.split('/').slice(-4, -2).join('/') ?? []) });
    return reply.type(FHIR_JSON).send(response);
  });

  app.get<{ Params: TypeParams }>(`${base}/:type`, read('search-type'), async (request, reply) => {
    const { request: search, result } = await searchResources(fhir, request.params.type, request.query as QueryValues);
    noteSubjects({ resourceIds: result.matches.map(referenceOf) });
    const query = request.url.split('?')[1] ?? '';
    return reply.type(FHIR_JSON).send(searchsetJson({ baseUrl, request: search, query, ...result }));
  });

  app.post<{ Params: TypeParams }>(`${base}/:type`, write('create'), async (request, reply) => {
    const created = await createResource(fhir, request.params.type, request.body);
    reply.header('location', `${baseUrl}/${created.resourceType}/${created.id}/_history/${created.versionId}`);
    return sendVersion(reply.status(201), created);
  });

  app.get<{ Params: TypeParams }>(`${base}/:type/_history`, read('history-type'), async (request, reply) => {
    const versions = await resourceHistory(fhir, { resourceType: request.params.type, ...historyPaging(request) });
    noteSubjects({ resourceIds: versions.map(referenceOf) });
    return reply.type(FHIR_JSON).send(historyJson(baseUrl, versions));
  });

  app.get<{ Params: InstanceParams }>(`${base}/:type/:id`, read('read'), async (request, reply) =>
    sendVersion(reply, await readResource(fhir, request.params.type, request.params.id)),
  );

  app.put<{ Params: InstanceParams }>(`${base}/:type/:id`, write('update'), async (request, reply) =>
    sendVersion(reply, await updateResource(fhir, request.params.type, request.params.id, request.body, request.headers['if-match'])),
  );

  app.patch<{ Params: InstanceParams }>(`${base}/:type/:id`, write('patch'), async (request, reply) => {
    const operations = readPatchOperations(request.body);
    return sendVersion(reply, await patchResource(fhir, request.params.type, request.params.id, operations, request.headers['if-match']));
  });

  app.delete<{ Params: InstanceParams }>(`${base}/:type/:id`, write('delete'), async (request, reply) => {
    noteSubjects({ resourceIds: [`${request.params.type}/${request.params.id}`] });
    await deleteResource(fhir, request.params.type, request.params.id);
    return reply.type(FHIR_JSON).send({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'information', code: 'informational', diagnostics: `${request.params.type}/${request.params.id} deleted` }],
    });
  });

  app.get<{ Params: InstanceParams }>(`${base}/:type/:id/_history`, read('history-instance'), async (request, reply) => {
    noteSubjects({ resourceIds: [`${request.params.type}/${request.params.id}`] });
    const versions = await resourceHistory(fhir, { resourceType: request.params.type, id: request.params.id, ...historyPaging(request) });
    return reply.type(FHIR_JSON).send(historyJson(baseUrl, versions));
  });

  app.get<{ Params: InstanceParams & { version: string } }>(`${base}/:type/:id/_history/:version`, read('vread'), async (request, reply) =>
    sendVersion(reply, await readResourceVersion(fhir, request.params.type, request.params.id, request.params.version)),
  );
}

function referenceOf(version: StoredVersion): string {
  return `${version.resourceType}/${version.id}`;
}

/** Sends one version of a resource (read, vread, create, update, patch), noting it for the audit. */
function sendVersion(reply: FastifyReply, version: StoredVersion): FastifyReply {
  noteSubjects({ resourceIds: [referenceOf(version)] });
  return reply
    .header('etag', etagOf(version))
    .header('last-modified', version.lastUpdated.toUTCString())
    .type(FHIR_JSON)
    .send(version.json);
}

function historyPaging(request: FastifyRequest): { count: number; offset: number; since?: Date } {
  const query = request.query as QueryValues;
  const single = (name: string): string | undefined => {
    const value = query[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const count = Number(single('_count') ?? SEARCH_LIMITS.defaultCount);
  const offset = Number(single('_offset') ?? 0);
  if (!Number.isInteger(count) || count < 1 || count > SEARCH_LIMITS.maxCount) throw Errors.invalidValue(`Invalid value - '${single('_count')}' in field '_count'`);
  if (!Number.isInteger(offset) || offset < 0 || offset > SEARCH_LIMITS.maxOffset) throw Errors.invalidValue(`Invalid value - '${single('_offset')}' in field '_offset'`);
  const sinceText = single('_since');
  if (sinceText === undefined) return { count, offset };
  const since = dateRange(sinceText);
  if (!since) throw Errors.invalidValue(`Invalid value - '${sinceText}' in field '_since'`);
  return { count, offset, since: since.low };
}
