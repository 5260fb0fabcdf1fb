// Packed blocks: the text comes back as it went in, and what is not a packed block, or unpacks to
// more than any block could hold, is refused rather than read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packRecords, unpackRecords } from './packing.ts';

test('a packed text unpacks to itself, smaller than it was', () => {
  const text = JSON.stringify(Array.from({ length: 200 }, (_, index) => [index, 'spine-directory', 'read', 'success', 200, `Organization/${index}`]));
  const packed = packRecords(text);
  assert.ok(packed.length < text.length / 3, `${packed.length} bytes packed from ${text.length}`);
  assert.equal(unpackRecords(packed), text);
});

test('bytes that are not a packed block, or that unpack beyond 64 MiB, give nothing', () => {
  assert.equal(unpackRecords(Buffer.from('not compressed at all')), undefined);
  const expanding = packRecords(' '.repeat(65 * 1024 * 1024));
  assert.ok(expanding.length < 64 * 1024, 'a few kilobytes that would fill 65 MiB');
  assert.equal(unpackRecords(expanding), undefined);
});
