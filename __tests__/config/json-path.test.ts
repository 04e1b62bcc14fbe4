import { describe, expect, test } from '@jest/globals';
import { formatPath, pointerSegments } from '../../src/config/json-path.js';
import { suggestKey } from '../../src/config/suggest-key.js';

describe('config paths', () => {
  test('a JSON pointer reads as keys and indices', () => {
    expect(formatPath(pointerSegments('/doors/1/openFor'))).toBe('doors[1].openFor');
    expect(formatPath(pointerSegments('/doors/0/oneTimeSequences/2/0'))).toBe('doors[0].oneTimeSequences[2][0]');
  });

  test('the document itself and odd keys stay readable', () => {
    expect(formatPath([])).toBe('(root)');
    expect(formatPath(['limits', 'a b'])).toBe('limits["a b"]');
    expect(formatPath(pointerSegments('/a~1b/c~0d'))).toBe('["a/b"]["c~d"]');
  });
});

describe('key suggestions', () => {
  test('a key differing in case or by up to two edits is suggested', () => {
    const valid = ['logFile', 'logPrefix', 'openFor'];
    expect(suggestKey('logfile', valid)).toBe('logFile');
    expect(suggestKey('opnFor', valid)).toBe('openFor');
    expect(suggestKey('banana', valid)).toBeUndefined();
  });
});
