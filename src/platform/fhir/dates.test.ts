import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dateRange, ENGLAND_TIME_ZONE } from './dates.ts';

const iso = (value: string, localZone?: string) => {
  const range = dateRange(value, localZone);
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

test("in England's time, a value without a time zone is England's: a day of summer starts at 23:00 UTC, and days of 23 and 25 hours", () => {
  assert.deepEqual(iso('2026-07-01', ENGLAND_TIME_ZONE), ['2026-06-30T23:00:00.000Z', '2026-07-01T22:59:59.999Z']);
  assert.deepEqual(iso('2026-01-15', ENGLAND_TIME_ZONE), ['2026-01-15T00:00:00.000Z', '2026-01-15T23:59:59.999Z']);
  assert.deepEqual(iso('2026-03-29', ENGLAND_TIME_ZONE), ['2026-03-29T00:00:00.000Z', '2026-03-29T22:59:59.999Z'], 'the clocks go forward');
  assert.deepEqual(iso('2026-10-25', ENGLAND_TIME_ZONE), ['2026-10-24T23:00:00.000Z', '2026-10-25T23:59:59.999Z'], 'the clocks go back');
  assert.deepEqual(iso('2026-06', ENGLAND_TIME_ZONE), ['2026-05-31T23:00:00.000Z', '2026-06-30T22:59:59.999Z']);
  assert.deepEqual(iso('2026', ENGLAND_TIME_ZONE), ['2026-01-01T00:00:00.000Z', '2026-12-31T23:59:59.999Z']);
  assert.deepEqual(iso('2026-07-01T10:00', ENGLAND_TIME_ZONE), ['2026-07-01T09:00:00.000Z', '2026-07-01T09:00:59.999Z']);
  assert.deepEqual(iso('2026-07-01T10:00Z', ENGLAND_TIME_ZONE), ['2026-07-01T10:00:00.000Z', '2026-07-01T10:00:59.999Z'], 'a time zone given is kept');
  assert.deepEqual(iso('2026-07-01'), ['2026-07-01T00:00:00.000Z', '2026-07-01T23:59:59.999Z'], 'UTC unless a zone is given');
});

test('impossible dates are not dates', () => {
  for (const value of ['2020-13', '2021-02-29', '2020-00-10', '20201', 'today', '2020-05-06T25:00Z', '']) {
    assert.equal(dateRange(value), undefined, value);
  }
});
