import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { LogClock, ManualClock } from '../src/model/clock.js';
import { countRecord, createCounters } from '../src/app/counters.js';
import { GrantEngine } from '../src/grant/grant-engine.js';
import { KnockTracker } from '../src/knock/tracker.js';
import { Pipeline } from '../src/app/pipeline.js';
import { makeDoor, testLimits } from './support/door.js';
import { FakeBackend, MemoryAudit } from './support/fakes.js';

const PREFIX = 'knocktail: ';
const classic = makeDoor();
const limits = testLimits;
const NOW = Date.parse('2026-11-24T15:50:30Z');

function knockLine(time: string, src: string, dport: number, spt = 40000): string {
  return `${time} vm kernel: [  103.854386] ${PREFIX}IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=${src} DST=198.51.100.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=51234 DF PROTO=TCP SPT=${spt} DPT=${dport} WINDOW=64240 RES=0x00 SYN URGP=0`;
}

function build(options: { replay: boolean; tracker?: KnockTracker }) {
  // Replay's clock follows the packets; the daemon's does not.
  const clock = options.replay ? new LogClock(NOW - 3_600_000) : new ManualClock(NOW);
  const backend = new FakeBackend();
  const audit = new MemoryAudit();
  const counters = createCounters();
  const grants = new GrantEngine({
    doors: [classic],
    backend,
    audit,
    clock,
    onRecord: (record) => countRecord(counters, record),
  });
  const problems: string[] = [];
  const pipeline = new Pipeline({
    parseContext: { prefix: PREFIX, bootTime: 0, referenceTime: NOW },
    tracker: options.tracker ?? new KnockTracker({ doors: [classic], limits }),
    grants,
    clock,
    counters,
    onBadLine: (_line, problem) => problems.push(problem),
  });
  const feed = async (lines: readonly string[]): Promise<void> => {
    await pipeline.processChunk(Buffer.from(lines.map((line) => `${line}\n`).join('')));
    await grants.drain();
  };
  return { feed, counters, audit, backend, problems };
}

describe('Pipeline', () => {
  test('the seed case: one knock on 31600 opens 22, a knock on 31601 closes it', async () => {
    const { feed, backend, counters } = build({ replay: true });
    await feed([
      knockLine('2026-11-24T15:50:22.137638+00:00', '203.0.113.9', 31600),
      knockLine('2026-11-24T15:50:25.000000+00:00', '203.0.113.9', 31601, 40001),
    ]);
    expect(backend.calls).toEqual(['open classic 203.0.113.9', 'close classic 203.0.113.9']);
    expect(counters).toMatchObject({ lines: 2, packets: 2, knocks: 2, opens: 1, closes: 1 });
  });

  test('a line from an hour ago read by the live daemon never opens a door', async () => {
    const { feed, backend, counters } = build({ replay: false });
    await feed([knockLine('2026-11-24T14:50:22.000000+00:00', '203.0.113.9', 31600)]);
    expect(counters.packets).toBe(1);
    expect(backend.calls).toEqual([]);
  });

  test('arbitrary lines, with or without the prefix, never crash the pipeline and never open a port', async () => {
    const line = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ maxLength: 200 }).map((rest) => `2026-11-24T15:50:22.1+00:00 vm kernel: ${PREFIX}${rest}`),
      fc.string({ maxLength: 200 }).map((rest) => `Nov 24 15:50:22 vm kernel: ${PREFIX}IN=eth0 SRC=${rest}`),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          line.filter((text) => !text.includes('\n')),
          { maxLength: 30 },
        ),
        async (lines) => {
          const { feed, backend, counters } = build({ replay: true });
          await feed(lines);
          expect(counters.lines).toBe(lines.length);
          expect(counters.packets + counters.malformed + counters.ignored + counters.errors).toBe(lines.length);
          expect(backend.calls).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('a line whose processing throws is counted and skipped, and the next line still works', async () => {
    const real = new KnockTracker({ doors: [classic], limits });
    let calls = 0;
    const flaky = Object.assign(Object.create(real) as KnockTracker, {
      observe: (...args: Parameters<KnockTracker['observe']>) => {
        calls += 1;
        if (calls === 1) throw new Error('boom');
        return real.observe(...args);
      },
    });
    const { feed, backend, counters, problems } = build({ replay: true, tracker: flaky });
    await feed([
      knockLine('2026-11-24T15:50:22.000000+00:00', '203.0.113.8', 31600),
      knockLine('2026-11-24T15:50:23.000000+00:00', '203.0.113.9', 31600),
    ]);
    expect(counters.errors).toBe(1);
    expect(problems).toEqual(['processing failed: boom']);
    expect(backend.calls).toEqual(['open classic 203.0.113.9']);
  });
});
