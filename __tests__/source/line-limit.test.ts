import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config.js';
import { runReplay } from '../../src/app/replay.js';
import { readLogFiles } from '../../src/source/file-reader.js';
import { dropOversizedLines, LineLimiter, MAX_LINE_BYTES } from '../../src/source/line-limit.js';
import { FORGED_KNOCK, GENUINE_KNOCK, loggerLineWithForgedKnock } from './support/forged-line.js';

const split = (text: string): string[] => text.split('\n').slice(0, -1);

describe('dropOversizedLines', () => {
  test('lines up to the limit come back as they are (the same buffer); longer ones are dropped whole', () => {
    const short = Buffer.from(`${'a'.repeat(10)}\n${'b'.repeat(10)}\n`);
    expect(dropOversizedLines(short, 10).lines).toBe(short);
    const mixed = Buffer.from(`ok\n${'x'.repeat(11)}\nfine\n${'y'.repeat(30)}\n`);
    const checked = dropOversizedLines(mixed, 10);
    expect(checked.lines.toString()).toBe('ok\nfine\n');
    expect(checked.dropped).toBe(2);
  });

  test('keeps exactly the lines of at most `limit` bytes, whatever the lines', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: fc.constantFrom('a', 'b', 'é'), maxLength: 40 }), { maxLength: 30 }),
        fc.integer({ min: 0, max: 30 }),
        (lines, limit) => {
          const input = Buffer.from(lines.map((line) => `${line}\n`).join(''));
          const kept = lines.filter((line) => Buffer.byteLength(line) <= limit);
          const checked = dropOversizedLines(input, limit);
          expect(split(checked.lines.toString())).toEqual(kept);
          expect(checked.dropped).toBe(lines.length - kept.length);
          if (kept.length === lines.length) expect(checked.lines).toBe(input);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('LineLimiter', () => {
  test('however the stream is cut into pieces, the lines out are the short lines in, and the rest is counted', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: fc.constantFrom('a', 'b', '\n'), maxLength: 60 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 20 }),
        (pieces, limit) => {
          const text = pieces.join('');
          const limiter = new LineLimiter(limit);
          let out = '';
          for (const piece of pieces) out += limiter.push(Buffer.from(piece)).toString();
          out += limiter.end()?.toString() ?? '';
          const all = text.split('\n');
          if (all.at(-1) === '') all.pop();
          const kept = all.filter((line) => line.length <= limit);
          expect(split(out)).toEqual(kept);
          expect(limiter.takeDropped()).toBe(all.length - kept.length);
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('pushParts gives the same lines as push, in at most two non-empty parts, and never copies the piece', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: fc.constantFrom('a', 'b', '\n'), maxLength: 60 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 20 }),
        (pieces, limit) => {
          const whole = new LineLimiter(limit);
          const parted = new LineLimiter(limit);
          for (const piece of pieces) {
            const bytes = Buffer.from(piece);
            const parts = parted.pushParts(bytes);
            expect(parts.length).toBeLessThanOrEqual(2);
            expect(parts.every((part) => part.length > 0 && part.at(-1) === 0x0a)).toBe(true);
            // The last part, when it is the piece's own lines, is a view of the piece.
            const last = parts.at(-1);
            if (last && parts.length === 2) expect(last.buffer).toBe(bytes.buffer);
            expect(Buffer.concat(parts).toString()).toBe(whole.push(bytes).toString());
          }
          expect(parted.takeDropped()).toBe(whole.takeDropped());
        },
      ),
      { numRuns: 500 },
    );
  });

  test('an over-long line is never held in memory: the carry stays under the limit', () => {
    const limiter = new LineLimiter(100);
    for (let i = 0; i < 100; i++) expect(limiter.push(Buffer.alloc(1000, 0x41)).length).toBe(0);
    expect(limiter.push(Buffer.from('tail\nnext\n')).toString()).toBe('next\n');
    expect(limiter.takeDropped()).toBe(1);
  });
});

describe('replay over a logger line with a forged kernel line placed after the limit', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'knocktail-oversized-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('opens nothing, counts the line as oversized, and the genuine knock after it still opens', async () => {
    const path = join(dir, 'knocks.log');
    // Chunks of 1 KiB: a reader that cut a line at 16 chunks (the old one) would start a new line at the forged knock.
    writeFileSync(path, `${loggerLineWithForgedKnock(16 * 1024)}${GENUINE_KNOCK}\n`);
    const config = { ...(await loadConfig('examples/config.json')) };
    const opens: string[] = [];
    const result = await runReplay({
      config,
      source: readLogFiles([path], { chunkSize: 1024 }),
      bootTime: 0,
      referenceTime: Date.parse('2026-11-25T00:00:00Z'),
      onRecord: (record) => record.event === 'open' && opens.push(record.src),
    });
    expect(opens).toEqual(['203.0.113.9']);
    expect(result.counters).toMatchObject({ lines: 2, oversized: 1, packets: 1 });
  });

  test('a forged line at the very end of the file (no line after it) is dropped and counted too', async () => {
    const path = join(dir, 'knocks.log');
    writeFileSync(path, loggerLineWithForgedKnock().slice(0, -1));
    const chunks: string[] = [];
    const source = readLogFiles([path], { chunkSize: 4096 });
    let oversized = 0;
    for await (const chunk of source.chunks()) {
      chunks.push(chunk.toString());
      oversized += source.takeOversized?.() ?? 0;
    }
    expect(chunks.join('')).not.toContain(FORGED_KNOCK);
    expect(oversized).toBe(1);
  });

  test('the limit is the kernel-sized one shared by every reader', () => {
    expect(MAX_LINE_BYTES).toBe(8192);
  });
});
