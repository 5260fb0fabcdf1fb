import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkCharacterOf, generateShortForm, isValidLongForm, isValidShortForm, shortFormProblem } from './prescription-id.ts';

test('the README and example prescription ids pass the MOD 37-2 check', () => {
  // 58EFB9-A83008-27693K is the README's; the others are from ../shared/specs/eps/examples, one ending in '+'.
  for (const id of ['58EFB9-A83008-27693K', '24F5DA-A83008-7EFE6Z', '507FE8-A83008-4A859+', 'A0548B-A99968-451485', '7EE792-A83008-4EC8BZ']) {
    assert.equal(shortFormProblem(id), undefined, id);
    assert.equal(checkCharacterOf(id.slice(0, -1)), id.slice(-1), id);
  }
});

test('a wrong check character or a malformed id is refused, and says which', () => {
  assert.equal(shortFormProblem('58EFB9-A83008-27693L'), 'check-character');
  assert.equal(shortFormProblem('24F5DA-A83008-7EFE6+'), 'check-character');
  assert.equal(shortFormProblem('58efb9-A83008-27693K'), 'format');
  assert.equal(shortFormProblem('58EFB9A83008-27693K'), 'format');
  assert.equal(shortFormProblem(''), 'format');
});

test('generated short ids carry the prescriber ODS code, zero-padded, and a valid check character', () => {
  for (let i = 0; i < 200; i++) {
    const id = generateShortForm('A83008');
    assert.ok(isValidShortForm(id), id);
    assert.equal(id.slice(7, 13), 'A83008');
  }
  assert.equal(generateShortForm('FA565').slice(7, 13), '0FA565');
});

test('long-form ids are UUIDs', () => {
  assert.ok(isValidLongForm('20ba5fb5-cb58-462c-923e-22d180b09356'));
  assert.ok(!isValidLongForm('20ba5fb5cb58462c923e22d180b09356'));
});
