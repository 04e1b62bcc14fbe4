import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { countLines, scanLineBounds, scanLines } from '../../src/parse/line-scanner.js';

const PREFIX = Buffer.from('knocktail: ');

function scan(text: string, prefix = PREFIX): { count: number; candidates: string[] } {
  const candidates: string[] = [];
  const count = scanLines(Buffer.from(text, 'utf8'), prefix, (line) => candidates.push(line));
  return { count, candidates };
}

describe('scanLines', () => {
  test('hands over the bounds of the same lines it decodes', () => {
    const chunk = Buffer.from('a\nb knocktail: x\n\nknocktail: ü\nc\n', 'utf8');
    const bounds: [number, number][] = [];
    expect(scanLineBounds(chunk, PREFIX, (start, end) => bounds.push([start, end]))).toBe(5);
    expect(bounds.map(([start, end]) => chunk.toString('utf8', start, end))).toEqual([
      'b knocktail: x',
      'knocktail: ü',
    ]);
  });

  test('hands over the lines holding the prefix, whole and in order', () => {
    const text = 'a kernel: hello\nb kernel: knocktail: IN=x\nknocktail: at start\nc\nend knocktail: \n';
    expect(scan(text)).toEqual({
      count: 5,
      candidates: ['b kernel: knocktail: IN=x', 'knocktail: at start', 'end knocktail: '],
    });
  });

  test('hands over a line once however often the prefix occurs in it', () => {
    expect(scan('knocktail: knocktail: knocktail: \nx\n')).toEqual({
      count: 2,
      candidates: ['knocktail: knocktail: knocktail: '],
    });
  });

  test('decodes multi-byte utf8 and counts empty lines', () => {
    expect(scan('\n\nü knocktail: é\n\n')).toEqual({ count: 4, candidates: ['ü knocktail: é'] });
  });

  test('hands over nothing for an empty prefix or one that spans lines', () => {
    expect(scan('a\nknocktail: \n', Buffer.alloc(0))).toEqual({ count: 2, candidates: [] });
    expect(scan('a\nb\n', Buffer.from('a\nb'))).toEqual({ count: 2, candidates: [] });
  });

  test('counts lines exactly and hands over every prefix line and only those', () => {
    const line = fc.oneof(
      fc.string({
        unit: fc.constantFrom('a', ' ', 'k', 'n', ':', 'ü', 'knocktail', 'knocktail: ', 'knock'),
        maxLength: 12,
      }),
      fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => s.replace(/\n/g, ' ')),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 40 }), (lines) => {
        const text = lines.map((l) => `${l}\n`).join('');
        const result = scan(text);
        expect(result.count).toBe(lines.length);
        expect(result.candidates).toEqual(lines.filter((l) => l.includes('knocktail: ')));
      }),
      { numRuns: 3000 },
    );
  });

  test('counts the newlines of a buffer', () => {
    expect(countLines(Buffer.from(''))).toBe(0);
    expect(countLines(Buffer.from('\n'.repeat(1000)))).toBe(1000);
  });
});
