import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { splitRuleLine } from '../../src/firewall/iptables-listing.js';
import {
  buildFilterTransaction,
  buildFilterTransactionText,
  formatRestoreLine,
  formatRestoreWord,
  isFormattedRestoreText,
} from '../../src/firewall/restore-text.js';

// The regex formulation the char-by-char one replaced: the reference it must agree with.
const referenceWord = (word: string): string =>
  word !== '' && !/[\s"'\\#]/.test(word) ? word : `"${word.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

// Words made mostly of the characters that matter: quotes, backslashes, '#', blanks of every kind.
const tricky = fc.constantFrom(
  'a',
  'Z',
  '0',
  '-',
  ':',
  '/',
  ' ',
  '\t',
  '\v',
  '\f',
  '"',
  "'",
  '\\',
  '#',
  '\u00a0',
  '\u2003',
  '\u3000',
  '\ufeff',
  '\u200b',
  'é',
  '\u{1f600}',
);
const word = fc.oneof(
  fc.string(),
  fc.array(tricky, { maxLength: 8 }).map((chars) => chars.join('')),
);

describe('restore text', () => {
  test('formatRestoreWord quotes and escapes exactly as the regex rule does, for any word', () => {
    fc.assert(fc.property(word, (w) => expect(formatRestoreWord(w)).toBe(referenceWord(w))));
  });

  test('a rule line splits back into its words (splitRuleLine undoes formatRestoreLine)', () => {
    const lineWord = word.filter((w) => !/[\n\r]/.test(w));
    fc.assert(
      fc.property(fc.array(lineWord, { minLength: 1, maxLength: 6 }), (words) => {
        expect(formatRestoreLine(words)).toBe(words.map(referenceWord).join(' '));
        expect(splitRuleLine(formatRestoreLine(words))).toEqual(words);
      }),
    );
  });

  test('isFormattedRestoreText holds exactly for text that formatRestoreLine writes back unchanged from its split words', () => {
    const roundTrips = (text: string): boolean => {
      try {
        return text !== '' && formatRestoreLine(splitRuleLine(text)) === text;
      } catch {
        return false;
      }
    };
    const lineWord = word.filter((w) => !/[\n\r]/.test(w));
    const formatted = fc.array(lineWord, { minLength: 1, maxLength: 5 }).map((words) => formatRestoreLine(words));
    const loose = fc
      .array(fc.constantFrom('a', '-', ' ', '  ', '"', '\\', '\\"', '#', "'", '\t', '\u00a0', '\n', '""', '"a b"'), {
        maxLength: 10,
      })
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(fc.oneof(formatted, loose, fc.string()), (text) =>
        expect(isFormattedRestoreText(text)).toBe(roundTrips(text)),
      ),
      { numRuns: 2000 },
    );
    const shapes = [
      'a',
      '"a"',
      'a  b',
      ' a',
      'a ',
      '"a b"',
      '""',
      'x "" y',
      '"\\q"',
      '"a\\"b"',
      '"a\\\\b"',
      'a"b',
      '"a"b',
      '#',
      '"#"',
      "'",
      `"'"`,
      'a\tb',
      '"a\tb"',
      '"a\nb"',
      '"a b',
    ];
    for (const text of shapes) expect([text, isFormattedRestoreText(text)]).toEqual([text, roundTrips(text)]);
    expect(shapes.filter((text) => isFormattedRestoreText(text))).toEqual([
      'a',
      '"a b"',
      '""',
      'x "" y',
      '"a\\"b"',
      '"a\\\\b"',
      '"#"',
      `"'"`,
      '"a\tb"',
    ]);
  });

  test('a word with a line break is refused, the common grant rule is written as iptables-save would', () => {
    expect(() => formatRestoreLine(['-A', 'KNOCKTAIL', '--comment', 'a\nb'])).toThrow('without line breaks');
    expect(() => formatRestoreLine(['x\r'])).toThrow('without line breaks');
    expect(
      formatRestoreLine([
        '-A',
        'KNOCKTAIL',
        '-s',
        '203.0.113.9',
        '-m',
        'comment',
        '--comment',
        'knocktail door=ssh until=never',
        '-j',
        'ACCEPT',
      ]),
    ).toBe('-A KNOCKTAIL -s 203.0.113.9 -m comment --comment "knocktail door=ssh until=never" -j ACCEPT');
    expect(formatRestoreLine(['--log-prefix', 'a "b" \\c', ''])).toBe('--log-prefix "a \\"b\\" \\\\c" ""');
    expect(
      buildFilterTransaction([
        ['-D', 'X', '-j', 'ACCEPT'],
        ['-A', 'X'],
      ]),
    ).toBe('*filter\n-D X -j ACCEPT\n-A X\nCOMMIT\n');
    expect(buildFilterTransaction([])).toBe('*filter\nCOMMIT\n');
    expect(buildFilterTransactionText(['-A X -j ACCEPT'])).toBe('*filter\n-A X -j ACCEPT\nCOMMIT\n');
  });
});
