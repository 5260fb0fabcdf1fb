// A graceful stop under load: SIGTERM while requests stream in; every request that was answered
// succeeded, the server exits 0 with its PostgreSQL stopped in order, and it starts again at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testSite } from './support/server-process.ts';

const CONCURRENCY = 8;

test('SIGTERM under load finishes the requests in flight, exits 0, and a restart serves again', { timeout: 55_000 }, async (t) => {
  const { site, start } = await testSite(t);
  const server = await start();

  const url = `${site.baseUrl}/spine-directory/FHIR/R4/Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|A83008`;
  const statuses: number[] = [];
  let running = true;
  const worker = async () => {
    while (running) {
      try {
        statuses.push((await fetch(url)).status);
      } catch {
        return; // refused once the server stopped listening: not answered, so not failed
      }
    }
  };
  const workers = Array.from({ length: CONCURRENCY }, worker);
  while (statuses.length < 200) await new Promise((resolve) => setImmediate(resolve));
  await server.stop();
  running = false;
  await Promise.all(workers);

  assert.equal(server.exitCode(), 0, server.output());
  assert.doesNotMatch(server.output(), /stop failed/);
  assert.deepEqual(statuses.filter((status) => status !== 200), [], 'answered requests that failed');

  await start({ OPENSPINE_SANDBOX: 'false' });
  const status = (await (await fetch(`${site.baseUrl}/_status`)).json()) as { sandbox: boolean };
  assert.equal(status.sandbox, false, 'OPENSPINE_SANDBOX=false means no sandbox');
  assert.equal((await fetch(url)).status, 401, 'and so a token is needed');
});
