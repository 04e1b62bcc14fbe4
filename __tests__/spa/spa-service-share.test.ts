import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCounters } from '../../src/app/counters.js';
import { SpaService } from '../../src/app/spa-service.js';
import type { Config } from '../../src/config/types.js';
import type { ByteStream, StreamStarter } from '../../src/firewall/interactive-process.js';
import { GrantEngine } from '../../src/grant/grant-engine.js';
import { ManualClock } from '../../src/model/clock.js';
import { spaUsedKey } from '../../src/spa/replay-share.js';
import type { Stage } from '../../src/trace/stage-trace.js';
import { FakeBackend, MemoryAudit } from '../support/fakes.js';
import { makeSpaDoor, NOW } from './spa-fixtures.js';

// The daemon's SPA service takes the packets other fleet members used (markUsed) into its replay
// cache and saves them like its own, so they stay used across a restart.
let stateDir: string;

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'kt-spa-share-'));
});

afterAll(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

/** A capture that is listening at once and then delivers `capture` (nothing by default). */
function starterOf(capture?: Buffer): StreamStarter {
  return {
    stream: (): ByteStream => ({
      onData: (fn) => setTimeout(() => capture && fn(capture), 0),
      onStderr: (fn) => queueMicrotask(() => fn('listening on nflog:62201, link-type NFLOG\n')),
      onExit: () => undefined,
      kill: () => undefined,
    }),
  };
}

async function startService(options: { capture?: Buffer; marks?: Stage[] } = {}): Promise<SpaService> {
  const doors = [makeSpaDoor()];
  const clock = new ManualClock(NOW);
  const config = { stateDir, doors } as unknown as Config;
  const engine = new GrantEngine({ doors, backend: new FakeBackend(), audit: new MemoryAudit(), clock });
  const service = new SpaService(config, {
    starter: starterOf(options.capture),
    engine,
    counters: createCounters(),
    now: () => clock.now(),
    onProblem: (message) => {
      throw new Error(message);
    },
    ...(options.marks ? { tracer: { mark: (stage: Stage) => options.marks?.push(stage) } } : {}),
  });
  await service.start();
  return service;
}

describe('SpaService and the group’s used packets', () => {
  test('a packet another member used is remembered, saved, and still known after a restart', async () => {
    const key = spaUsedKey('cd'.repeat(32), NOW + 120_000);
    const first = await startService();
    expect(first.markUsed(key)).toBe('added');
    expect(first.markUsed(key)).toBe('known');
    await first.stop();
    const second = await startService();
    expect(second.markUsed(key)).toBe('known');
    expect(second.markUsed('once:udp:4001')).toBe('refused');
    await second.stop();
  });
});

describe('SpaService with a tracer (KNOCKTAIL_TRACE)', () => {
  test('marks spa-read for a datagram parsed from the capture, and nothing more for a refused one', async () => {
    // nflog-hello.pcap: tcpdump's capture of one "hello-spa" datagram to 62201 (refused as malformed: no later marks).
    const capture = readFileSync(new URL('../fixtures/spa/nflog-hello.pcap', import.meta.url));
    const marks: Stage[] = [];
    const service = await startService({ capture, marks });
    for (let tries = 0; tries < 50 && marks.length === 0; tries++) await new Promise((done) => setTimeout(done, 10));
    await service.stop();
    expect(marks).toEqual(['spa-read']);
  });
});
