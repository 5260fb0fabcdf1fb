// Lookups made in the same turn of the event loop share one fetch; each caller gets its own row.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import postgres from 'postgres';
import { batchedEach, coalescedLookup, type Settled } from './coalesce.ts';

/** A fetch that records the keys of each call, and finds rows for keys starting with 'k'. */
function recordingFetch(fail = false) {
  const calls: string[][] = [];
  const fetch = async (keys: string[]) => {
    calls.push(keys);
    if (fail) throw new Error('the database went away');
    return new Map(keys.filter((key) => key.startsWith('k')).map((key) => [key, `row of ${key}`]));
  };
  return { calls, fetch };
}

test('lookups made together are fetched in one call; each gets its own row, a missing key undefined', async () => {
  const { calls, fetch } = recordingFetch();
  const lookup = coalescedLookup(fetch);
  const answers = await Promise.all(['k1', 'k2', 'x3', 'k1'].map(lookup));
  assert.deepEqual(answers, ['row of k1', 'row of k2', undefined, 'row of k1']);
  assert.deepEqual(calls, [['k1', 'k2', 'x3']], 'one fetch, each key once');
});

test('lookups made after a fetch has started go into the next fetch', async () => {
  const { calls, fetch } = recordingFetch();
  const lookup = coalescedLookup(fetch);
  assert.equal(await lookup('k1'), 'row of k1');
  assert.equal(await lookup('k2'), 'row of k2');
  assert.deepEqual(calls, [['k1'], ['k2']]);
});

test('more keys than one fetch takes are split into fetches of at most that many', async () => {
  const { calls, fetch } = recordingFetch();
  const lookup = coalescedLookup(fetch, 2);
  const answers = await Promise.all(['k1', 'k2', 'k3', 'k4', 'k5'].map(lookup));
  assert.deepEqual(answers, ['k1', 'k2', 'k3', 'k4', 'k5'].map((key) => `row of ${key}`));
  assert.deepEqual(calls, [['k1', 'k2'], ['k3', 'k4'], ['k5']]);
});

test('a failed fetch fails every lookup it carried, and the next lookup fetches again', async () => {
  let fail = true;
  const calls: string[][] = [];
  const lookup = coalescedLookup(async (keys: string[]) => {
    calls.push(keys);
    if (fail) throw new Error('the database went away');
    return new Map(keys.map((key) => [key, key]));
  });
  const results = await Promise.allSettled([lookup('k1'), lookup('k2')]);
  assert.deepEqual(results.map((result) => result.status), ['rejected', 'rejected']);
  fail = false;
  assert.equal(await lookup('k1'), 'k1');
  assert.equal(calls.length, 2);
});

/** Calls of `many` and `one` recorded; `many` fails with what `manyFails` gives for its items, if anything; `one` refuses the item 'bad'. */
function recordingRuns(manyFails: (items: string[]) => Error | false | undefined) {
  const runs: string[][] = [];
  const many = async (items: string[]): Promise<Settled<string>[]> => {
    runs.push(items);
    const failure = manyFails(items);
    if (failure) throw failure;
    return items.map((item) => (item === 'mine' ? { error: new Error('refused in the batch') } : { value: `many ${item}` }));
  };
  const one = async (item: string): Promise<string> => {
    runs.push([`alone ${item}`]);
    if (item === 'bad') throw new Error('refused alone');
    return `one ${item}`;
  };
  return { runs, call: batchedEach(many, one) };
}

test('calls made together run as one batch that settles each; a call by itself runs alone', async () => {
  const { runs, call } = recordingRuns(() => undefined);
  const answers = await Promise.allSettled(['a', 'mine', 'b'].map(call));
  assert.deepEqual(answers.map((answer) => (answer.status === 'fulfilled' ? answer.value : (answer.reason as Error).message)), ['many a', 'refused in the batch', 'many b']);
  assert.equal(await call('c'), 'one c');
  assert.deepEqual(runs, [['a', 'mine', 'b'], ['alone c']]);
});

test('a batch that PostgreSQL refuses is run again in halves, in order, so that only the call refused fails', async () => {
  const { runs, call } = recordingRuns((items) => items.includes('bad') && new postgres.PostgresError({ message: 'violates a constraint', code: '23514' } as never));
  const items = ['a', 'b', 'c', 'd', 'bad', 'e', 'f', 'g'];
  const answers = await Promise.allSettled(items.map(call));
  assert.deepEqual(answers.map((answer) => answer.status === 'fulfilled'), [true, true, true, true, false, true, true, true]);
  assert.equal(((answers[4] as PromiseRejectedResult).reason as Error).message, 'refused alone');
  // Eight calls, one refused: five statements and the call alone, not eight.
  assert.deepEqual(runs, [items, ['a', 'b', 'c', 'd'], ['bad', 'e', 'f', 'g'], ['bad', 'e'], ['alone bad'], ['alone e'], ['f', 'g']]);
});

test('a half that fails otherwise fails only its own calls; the half before it stands', async () => {
  const { runs, call } = recordingRuns((items) => (items.includes('bad') ? new postgres.PostgresError({ message: 'refused', code: '23514' } as never) : items.includes('lost') && new Error('the connection was lost')));
  const answers = await Promise.allSettled(['a', 'bad', 'lost', 'b'].map(call));
  assert.deepEqual(answers.map((answer) => (answer.status === 'fulfilled' ? answer.value : (answer.reason as Error).message)), ['one a', 'refused alone', 'the connection was lost', 'the connection was lost']);
  assert.deepEqual(runs, [['a', 'bad', 'lost', 'b'], ['a', 'bad'], ['alone a'], ['alone bad'], ['lost', 'b']]);
});

test('a batch that failed otherwise (it may have committed) fails every call, none run twice', async () => {
  const { runs, call } = recordingRuns(() => new Error('the connection was lost'));
  const answers = await Promise.allSettled(['a', 'b'].map(call));
  assert.deepEqual(answers.map((answer) => (answer.status === 'rejected' ? (answer.reason as Error).message : answer.value)), ['the connection was lost', 'the connection was lost']);
  assert.deepEqual(runs, [['a', 'b']]);
});
