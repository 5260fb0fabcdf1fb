// A MESH client for tests, as a supplier's would be: NHSMESH headers, and mailboxes and workflows
// of each test's own, with random ids, so that tests never see each other's messages.
import { randomBytes } from 'node:crypto';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { meshAuthorization } from '../../src/mesh/auth.ts';
import { replaceWorkflow, upsertMailbox } from '../../src/mesh/directory-store.ts';
import type { TestApp } from './app.ts';

export const MESH = '/messageexchange';
export const V2 = 'application/vnd.mesh.v2+json';
export const PASSWORD = 'password';

export type MeshCall = {
  method?: InjectOptions['method'];
  /** Under /messageexchange, e.g. `/X26ABC1/inbox`. */
  path: string;
  headers?: Record<string, string>;
  payload?: InjectOptions['payload'];
  version?: 1 | 2;
  /** The mailbox whose token signs the call (the path's by default); none for no Authorization. */
  as?: string | null;
  password?: string;
};

export type MeshTester = {
  /** New mailboxes of this test (ids random), all with the password `password`. */
  mailboxes(count: number, odsCode?: string): Promise<string[]>;
  /** A new workflow id of this test, its senders and receivers. */
  workflow(senders: string[], receivers: string[]): Promise<string>;
  authorization(mailboxId: string, options?: { password?: string; nonce?: string; nonceCount?: number; time?: Date }): string;
  call(options: MeshCall): Promise<LightMyRequestResponse>;
  /** Sends a message and returns its id (asserting the 202). */
  send(from: string, to: string, workflowId: string, payload: string | Buffer, headers?: Record<string, string>): Promise<string>;
};

const randomCode = (length: number) => randomBytes(length).toString('hex').toUpperCase().slice(0, length);

export function meshTester(t: TestApp): MeshTester {
  const authorization: MeshTester['authorization'] = (mailboxId, options = {}) =>
    meshAuthorization(mailboxId, options.password ?? PASSWORD, { sharedKey: t.config.meshSharedKey, ...options });
  const call: MeshTester['call'] = (options) => {
    const signer = options.as === undefined ? options.path.split('/')[1] : options.as;
    return t.app.inject({
      method: options.method ?? 'GET',
      url: `${MESH}${options.path}`,
      headers: {
        ...(options.version === 2 ? { accept: V2 } : {}),
        ...(signer ? { authorization: authorization(signer, { password: options.password ?? PASSWORD }) } : {}),
        ...options.headers,
      },
      ...(options.payload === undefined ? {} : { payload: options.payload }),
    });
  };
  return {
    async mailboxes(count, odsCode = `T${randomCode(4)}`) {
      const ids = Array.from({ length: count }, () => `T${randomCode(8)}`);
      for (const [index, mailboxId] of ids.entries()) {
        await upsertMailbox(t.db, { mailboxId, mailboxName: `Test mailbox ${index + 1}`, odsCode, orgCode: odsCode, orgName: 'Test organisation', billingEntity: 'England', password: PASSWORD, active: true });
      }
      return ids;
    },
    async workflow(senders, receivers) {
      const workflowId = `TEST_${randomCode(8)}`;
      await replaceWorkflow(t.db, { workflowId, senders, receivers });
      return workflowId;
    },
    authorization,
    call,
    async send(from, to, workflowId, payload, headers = {}) {
      const response = await call({ method: 'POST', path: `/${from}/outbox`, version: 2, headers: { 'mex-to': to, 'mex-workflowid': workflowId, 'content-type': 'application/octet-stream', ...headers }, payload });
      if (response.statusCode !== 202) throw new Error(`send refused: ${response.statusCode} ${response.body}`);
      return response.json<{ message_id: string }>().message_id;
    },
  };
}
