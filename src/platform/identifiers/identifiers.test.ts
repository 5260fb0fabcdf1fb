import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isValidNhsNumber, nhsNumberCheckDigit, randomNhsNumber } from './nhs-number.ts';
import { isValidOdsCode } from './ods-code.ts';

test('published NHS numbers are valid (9000000009, 9111231130, 9449304130)', () => {
  for (const number of ['9000000009', '9111231130', '9449304130']) assert.equal(isValidNhsNumber(number), true, number);
});

test('an NHS number with a wrong check digit, wrong length or letters is invalid', () => {
  for (const number of ['9000000000', '900000000', '90000000090', '900000000X', '', '9000 000 009']) {
    assert.equal(isValidNhsNumber(number), false, number);
  }
});

test('nine digits whose check would be 10 start no valid NHS number', () => {
  // 1000000010: sum = 1*10 + 1*2 = 12, 11 - 12 % 11 = 10
  assert.equal(nhsNumberCheckDigit('100000001'), undefined);
  for (let digit = 0; digit <= 9; digit++) assert.equal(isValidNhsNumber(`100000001${digit}`), false);
});

test('generated NHS numbers are valid and keep their prefix', () => {
  for (let index = 0; index < 1000; index++) {
    const number = randomNhsNumber('999');
    assert.equal(isValidNhsNumber(number), true, number);
    assert.ok(number.startsWith('999'));
  }
});

test('ODS codes of the coding frames are valid; other shapes are not', () => {
  for (const code of ['A83008', 'R69', 'RBA', 'RH802', '84H', 'FCG71']) assert.equal(isValidOdsCode(code), true, code);
  for (const code of ['AB', 'a83008', 'A83-008', 'ABCDEFGHIJ', '']) assert.equal(isValidOdsCode(code), false, code);
});
