// The inbox listing's paging and filters, as the spec describes them: max_results 10 to 5000
// (500 by default), links.next with continue_from (v2), the last id as continue_from (v1), and
// workflow_filter's equals, not, begins with and contains.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTestApp } from '../../test/support/app.ts';
import { meshTester } from '../../test/support/mesh.ts';
import { parseWorkflowFilter } from './inbox.ts';

const t = await buildTestApp();
const mesh = meshTester(t);
const [sender, recipient] = await mesh.mailboxes(2);
if (!sender || !recipient) throw new Error('no mailboxes');
const pathology = await mesh.workflow([sender], [recipient]);
const acks = `${pathology}_ACK`;
await t.db`insert into mesh_workflow_member (workflow_id, role, mailbox_id) values (${acks}, 'sender', ${sender}), (${acks}, 'receiver', ${recipient})`;
const sent: string[] = [];
for (let index = 0; index < 25; index++) sent.push(await mesh.send(sender, recipient, index % 5 === 0 ? acks : pathology, `message ${index}`));
const inOrder = [...sent].sort();

type Page = { messages: string[]; links: { self: string; next?: string }; approx_inbox_count: number };

test('v2 pages through the whole inbox with links.next, max_results at a time', async () => {
  const seen: string[] = [];
  let path: string | undefined = `/${recipient}/inbox?max_results=10`;
  let pages = 0;
  while (path !== undefined) {
    const response = await mesh.call({ path, version: 2 });
    assert.equal(response.statusCode, 200, response.body);
    const page = response.json<Page>();
    assert.equal(page.approx_inbox_count, 25);
    assert.ok(page.messages.length <= 10);
    seen.push(...page.messages);
    path = page.links.next?.replace('/messageexchange', '');
    pages++;
  }
  assert.equal(pages, 3);
  assert.deepEqual(seen, inOrder);
  const first = (await mesh.call({ path: `/${recipient}/inbox?max_results=10`, version: 2 })).json<Page>();
  assert.equal(first.links.self, `/messageexchange/${recipient}/inbox?max_results=10`);
  assert.match(first.links.next ?? '', /continue_from=/);
});

test('v1 lists up to 500 and continues from a message id', async () => {
  assert.deepEqual((await mesh.call({ path: `/${recipient}/inbox` })).json<{ messages: string[] }>().messages, inOrder);
  const after = await mesh.call({ path: `/${recipient}/inbox?continue_from=${inOrder[19] ?? ''}` });
  assert.deepEqual(after.json<{ messages: string[] }>().messages, inOrder.slice(20));
});

test('max_results outside 10 to 5000, or a continue_from not given out, is a 400', async () => {
  for (const query of ['max_results=9', 'max_results=5001', 'max_results=ten', 'continue_from=not-a-token-of-ours-at-all-really']) {
    assert.equal((await mesh.call({ path: `/${recipient}/inbox?${query}`, version: 2 })).statusCode, 400, query);
  }
});

test('workflow_filter: X, !X, X*, !X*, *X*, !*X*', async () => {
  const listed = async (filter: string) =>
    (await mesh.call({ path: `/${recipient}/inbox?workflow_filter=${encodeURIComponent(filter)}`, version: 2 })).json<Page>().messages.length;
  assert.equal(await listed(pathology), 20);
  assert.equal(await listed(`!${pathology}`), 5);
  assert.equal(await listed(`${pathology.slice(0, 8)}*`), 25);
  assert.equal(await listed(`!${pathology.slice(0, 8)}*`), 0);
  assert.equal(await listed('*_ACK*'), 5);
  assert.equal(await listed('!*_ACK*'), 20);
  assert.equal(await listed('NOTHING'), 0);
  const page = (await mesh.call({ path: `/${recipient}/inbox?workflow_filter=*_ACK*&max_results=10`, version: 2 })).json<Page>();
  assert.equal(page.links.self, `/messageexchange/${recipient}/inbox?max_results=10&workflow_filter=*_ACK*`);
});

test('filters parse as the spec describes them', () => {
  assert.deepEqual(parseWorkflowFilter('WORKFLOW1'), { match: 'equals', value: 'WORKFLOW1', negate: false });
  assert.deepEqual(parseWorkflowFilter('!WORKFLOW1'), { match: 'equals', value: 'WORKFLOW1', negate: true });
  assert.deepEqual(parseWorkflowFilter('WORKFL*'), { match: 'begins', value: 'WORKFL', negate: false });
  assert.deepEqual(parseWorkflowFilter('!*_ACK*'), { match: 'contains', value: '_ACK', negate: true });
  assert.throws(() => parseWorkflowFilter('*'));
  assert.throws(() => parseWorkflowFilter('A*B'));
});
