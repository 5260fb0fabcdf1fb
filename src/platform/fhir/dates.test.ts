import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dateRange } from './dates.ts';

const iso = (value: string) => {
  const range = dateRange(value);
  return range && [range.low.toISOString(), range.high.toISOString()];
};

test('a date covers its whole year, month or day', () => {
  assert.deepEqual(iso('2020'), ['2020-01-01T00:00:00.000Z', '2020-12-31T23:59:59.999Z']);
  assert.deepEqual(iso('2020-02'), ['2020-02-01T00:00:00.000Z', '2020-02-29T23:59:59.999Z']);
  assert.deepEqual(iso('2021-02-28'), ['2021-02-28T00:00:00.000Z', '2021-02-28T23:59:59.999Z']);
});

test('the years 0 to 99 are themselves, not 1900 to 1999', () => {
  assert.deepEqual(iso('0050'), ['0050-01-01T00:00:00.000Z', '0050-12-31T23:59:59.999Z']);
  assert.deepEqual(iso('0004-02'), ['0004-02-01T00:00:00.000Z', '0004-02-29T23:59:59.999Z']);
  assert.deepEqual(iso('0099-12-31'), ['0099-12-31T00:00:00.000Z', '0099-12-31T23:59:59.999Z']);
  assert.equal(dateRange('0003-02-29'), undefined);
});

test('a dateTime covers its minute or second, in its time zone', () => {
  assert.deepEqual(iso('2020-05-06T10:30+01:00'), ['2020-05-06T09:30:00.000Z', '2020-05-06T09:30:59.999Z']);
  assert.deepEqual(iso('2020-05-06T10:30:15Z'), ['2020-05-06T10:30:15.000Z', '2020-05-06T10:30:15.999Z']);
  assert.deepEqual(iso('2020-05-06T10:30:15.250Z'), ['2020-05-06T10:30:15.250Z', '2020-05-06T10:30:15.250Z']);
});

test('impossible dates are not dates', () => {
  for (const value of ['2020-13', '2021-02-29', '2020-00-10', '20201', 'today', '2020-05-06T25:00Z', '']) {
    assert.equal(dateRange(value), undefined, value);
  }
});
