// For the tests that guard query plans: a connection that records every query it sends, and the
// EXPLAIN of the last one a piece of work sent.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import postgres from 'postgres';
import { splitSocket, type Database } from '../../src/platform/db/connect.ts';

export type PlanRecorder = {
  /** Give this connection to the code under test. */
  connection: Database;
  /** Runs the work and returns the plan of the last query it sent. */
  planOf(work: () => Promise<unknown>): Promise<string>;
};

export function recordQueryPlans(url: string, explainer: Database): PlanRecorder {
  const sent: { query: string; parameters: unknown[] }[] = [];
  const { url: address, ...socket } = splitSocket(url);
  const connection = postgres(address, { ...socket, max: 1, debug: (_connection, query, parameters) => void sent.push({ query, parameters: parameters as unknown[] }) });
  after(() => connection.end());
  return {
    connection,
    async planOf(work) {
      sent.length = 0;
      await work();
      const last = sent.at(-1);
      assert.ok(last, 'a query was sent');
      const rows = await explainer.unsafe<{ 'QUERY PLAN': string }[]>(`explain ${last.query}`, last.parameters as never[]);
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    },
  };
}
