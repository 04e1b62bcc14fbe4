import { describe, expect, test } from '@jest/globals';
import { parseJsonText } from '../../src/config/json-text.js';

describe('parsing config text', () => {
  test('valid JSON parses, a byte order mark included', () => {
    expect(parseJsonText('\uFEFF{"a": [1, 2]}')).toEqual({ ok: true, value: { a: [1, 2] } });
  });

  test('a syntax error names the line and column of the offending character', () => {
    expect(parseJsonText('{\n  "a": 1,\n  b: 2\n}')).toEqual({
      ok: false,
      line: 3,
      column: 3,
      message: expect.stringMatching(/^line 3, column 3: /),
    });
  });

  test('an error V8 reports without an offset is still located', () => {
    expect(parseJsonText('{\n  "a": [1,]\n}')).toMatchObject({
      ok: false,
      line: 2,
      column: 11,
      message: expect.stringMatching(/^line 2, column 11: Unexpected token/),
    });
  });

  test('an offset-less error right after an opening bracket is located too', () => {
    expect(parseJsonText('{\n  "doors": [,]\n}')).toMatchObject({
      ok: false,
      line: 2,
      column: 13,
      message: expect.stringMatching(/^line 2, column 13: Unexpected token/),
    });
  });

  test('text that stops early is located at its end', () => {
    expect(parseJsonText('{\n  "a": ')).toEqual({
      ok: false,
      line: 2,
      column: 8,
      message: 'line 2, column 8: Unexpected end of JSON input',
    });
  });
});
