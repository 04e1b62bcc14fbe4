import { describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditRecord } from '../src/audit/record.js';
import { loadConfig } from '../src/config/load-config.js';
import type { Config } from '../src/config/types.js';
import { formatPort, type Step } from '../src/model/door.js';
import { tripwirePorts } from '../src/model/tripwires.js';
import { deriveSequence, windowAt } from '../src/knock/time-based.js';
import { runReplay } from '../src/app/replay.js';
import type { ChunkSource } from '../src/source/chunk-source.js';
import { RAW_CLASSIC_DOOR } from './support/door.js';

// The attacks of issue #17 as recorded logs, replayed through the daemon's own composition:
// a time-based sequence replayed from another address, the owner's address forged on wrong
// knocks, a flood of refreshes, and a full random-order port scan against single-knock doors.
const T0 = Date.parse('2026-11-24T12:00:05Z');
const owner = '198.51.100.7';
const attacker = '203.0.113.66';

const CONFIG = {
  logFile: '/var/log/knocktail/knocks.log',
  stateDir: '/var/lib/knocktail',
  auditLog: '/var/log/knocktail/audit.log',
  firewall: { backend: 'iptables' },
  doors: [
    RAW_CLASSIC_DOOR,
    { name: 'quick', sequence: ['tcp:31700'], open: ['tcp:22'], openFor: '4s' },
    { name: 'ssh', sequence: ['tcp:7000', 'udp:8000', 'tcp:9000'], timeout: '15s', open: ['tcp:22'], openFor: '1h' },
    {
      name: 'totp',
      timeBased: {
        secret: '6f1d0c8e4b2a79f35e7c1a0d9b8f6e4c3a2b1d0e9f8c7b6a5d4e3f2a1b0c9d8e',
        length: 4,
        period: '30s',
        portRange: [40000, 49999],
        proto: 'tcp',
      },
      timeout: '20s',
      open: ['tcp:22'],
      openFor: '30m',
    },
  ],
};

let config: Config | undefined;
async function theConfig(): Promise<Config> {
  if (config) return config;
  const dir = await mkdtemp(join(tmpdir(), 'knocktail-scan-'));
  try {
    await writeFile(join(dir, 'config.json'), JSON.stringify(CONFIG));
    config = await loadConfig(join(dir, 'config.json'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return config;
}

function line(at: number, src: string, step: Step, spt: number): string {
  const time = new Date(at).toISOString().replace('Z', '000+00:00');
  const head = `${time} vm kernel: knocktail: IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=${src} DST=198.51.100.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF`;
  if (step.proto === 'udp') return `${head} PROTO=UDP SPT=${spt} DPT=${step.port} LEN=12`;
  return `${head} PROTO=TCP SPT=${spt} DPT=${step.port} WINDOW=64240 RES=0x00 SYN URGP=0`;
}

function knocks(start: number, src: string, steps: readonly Step[], sport: number, gap = 500): string[] {
  return steps.map((step, index) => line(start + index * gap, src, step, sport + index));
}

async function replay(lines: readonly string[]): Promise<{ records: AuditRecord[]; stillOpen: string[] }> {
  const source: ChunkSource = {
    async *chunks() {
      yield Buffer.from(lines.map((text) => `${text}\n`).join(''));
    },
  };
  const records: AuditRecord[] = [];
  const result = await runReplay({
    config: await theConfig(),
    source,
    bootTime: 0,
    referenceTime: T0 + 86_400_000,
    onRecord: (record) => records.push(record),
  });
  return { records, stillOpen: result.openAtEnd.map((grant) => `${grant.door} ${grant.src}`) };
}

const summary = (records: readonly AuditRecord[]): string[][] =>
  records.map((r) => [r.event, r.door, r.src, 'reason' in r ? r.reason : '']);

// A deterministic shuffle (mulberry32), so a failing order can be replayed.
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed;
  const random = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('replayed attacks (issue #17)', () => {
  test('a time-based sequence replayed from another address 45 s later opens nothing', async () => {
    const spec = (await theConfig()).doors.find((door) => door.name === 'totp')!.timeBased!;
    const sequence = deriveSequence(spec, windowAt(spec, T0));
    const { records } = await replay([
      ...knocks(T0, owner, sequence, 40000),
      ...knocks(T0 + 45_000, attacker, sequence, 50000),
    ]);
    expect(summary(records)).toEqual([
      ['open', 'totp', owner, ''],
      ['reject', 'totp', attacker, 'time-based-reused'],
    ]);
  });

  test("22 wrong knocks forged with the owner's address, then the owner's correct sequence 5 minutes later: it opens", async () => {
    const wrong = Array.from({ length: 22 }, (_, i) =>
      line(T0 + i * 200, owner, { proto: 'tcp', port: i % 2 ? 9000 : 7000 }, 30000 + i),
    );
    const ssh: Step[] = [
      { proto: 'tcp', port: 7000 },
      { proto: 'udp', port: 8000 },
      { proto: 'tcp', port: 9000 },
    ];
    const { records } = await replay([...wrong, ...knocks(T0 + 300_000, owner, ssh, 41000)]);
    expect(summary(records)).toEqual([['open', 'ssh', owner, '']]);
  });

  test('50 sources knocking a single-knock door 20 times a second for 10 s leave a bounded audit log', async () => {
    const lines: string[] = [];
    for (let tick = 0; tick < 200; tick++) {
      for (let i = 0; i < 50; i++)
        lines.push(line(T0 + tick * 50, `198.51.100.${i + 10}`, { proto: 'tcp', port: 31700 }, 20000 + tick * 64 + i));
    }
    const { records } = await replay(lines);
    const count = (event: string): number => records.filter((record) => record.event === event).length;
    expect(count('open')).toBe(50);
    // One applied refresh per grant per 2 s (half of openFor 4 s), against 199 knocks each: 200 instead of 9,950.
    expect(count('refresh')).toBe(200);
    expect(records.length).toBeLessThan(300);
  });

  test('a scanner that knocks before its first tripwire line loses that grant at the line; the owner is untouched', async () => {
    const cfg = await theConfig();
    const tripwire = tripwirePorts(cfg.doors, cfg.logPrefix).find((port) => port.proto === 'tcp')!.port;
    const { records, stillOpen } = await replay([
      line(T0, owner, { proto: 'tcp', port: 31700 }, 41000),
      line(T0 + 100, attacker, { proto: 'tcp', port: 31700 }, 60000),
      line(T0 + 300, attacker, { proto: 'tcp', port: tripwire }, 60001),
      line(T0 + 400, attacker, { proto: 'tcp', port: 31600 }, 60002),
    ]);
    expect(summary(records)).toEqual([
      ['open', 'quick', owner, ''],
      ['open', 'quick', attacker, ''],
      ['reject', '', attacker, 'tripwire'],
      ['close', 'quick', attacker, 'scanner'],
      ['reject', 'classic', attacker, 'scanner'],
    ]);
    expect(stillOpen).toEqual([`quick ${owner}`]);
  });

  test.each([1, 2, 3, 4, 5, 6])(
    'full random-order scan #%i from one address never leaves a door open for it; the owner opens right after',
    async (seed) => {
      const cfg = await theConfig();
      const tripwires = new Set(tripwirePorts(cfg.doors, cfg.logPrefix).map(formatPort));
      const knockPorts = new Set(['tcp:31600', 'tcp:31601', 'tcp:31700', 'tcp:7000', 'tcp:9000']);
      // What the guard logs of a SYN scan of every port: knock ports always, tripwires once a minute.
      const lines: string[] = [];
      let lastTripwire = -Infinity;
      const ports = shuffled(
        Array.from({ length: 65535 }, (_, i) => i + 1),
        seed,
      );
      ports.forEach((port, i) => {
        const at = T0 + Math.floor(i / 10); // ~10,000 packets a second, as nmap -T5 on a LAN
        const key = `tcp:${port}`;
        if (knockPorts.has(key)) lines.push(line(at, attacker, { proto: 'tcp', port }, 60000));
        else if (tripwires.has(key) && at - lastTripwire >= 60_000) {
          lastTripwire = at;
          lines.push(line(at, attacker, { proto: 'tcp', port }, 60000));
        }
      });
      const end = T0 + 6554;
      lines.push(line(end + 100, owner, { proto: 'tcp', port: 31600 }, 41000));
      const { records, stillOpen } = await replay(lines);
      expect(stillOpen).toEqual([`classic ${owner}`]);
      expect(records.at(-1)).toMatchObject({ event: 'open', door: 'classic', src: owner });
      // Whatever the scanner opened before its first tripwire hit was closed at that hit or by its own close knock.
      const opened = records.filter((record) => record.event === 'open' && record.src === attacker);
      const closed = records.filter((record) => record.event === 'close' && record.src === attacker);
      expect(closed).toHaveLength(opened.length);
    },
  );
});
