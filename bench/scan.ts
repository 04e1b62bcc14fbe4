// Port scans against the knock engine (issue #17), on a simulated pipeline: the daemon's own
// composition (parse, knock, grant engine, iptables backend on the simulated firewall) fed in
// real time with the lines the guard would log for a full random-order SYN scan of all 65,535
// ports, from 1 source and from 5,000 sources at once, while a legitimate client knocks a
// three-step door 20 times. What the guard logs of a scan follows docs/guard-rules.md: every
// knock port hit (each source hits each port once), and at most one tripwire line per source per
// minute. Not a live run: nmap from 5,000 addresses (327 million SYNs) is far beyond this
// machine; the live single-source case is __tests__/system/scan-live.test.ts.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config/load-config.js';
import type { Config } from '../src/config/types.js';
import { formatPort } from '../src/model/door.js';
import { tripwirePorts } from '../src/model/tripwires.js';
import { runReplay } from '../src/app/replay.js';
import type { ChunkSource } from '../src/source/chunk-source.js';
import { LEGIT_DOOR, LEGIT_STEPS } from '../__tests__/system/support/spoofed-flood.js';
import type { BenchFunction } from './section.js';
import { sleep } from '../__tests__/support/helpers.js';
import { RAW_CLASSIC_DOOR } from '../__tests__/support/door.js';

const T0 = Date.parse('2026-11-24T12:00:00Z');
const LEGIT = '198.51.100.2';
const TRIALS = 20;
/** One full scan takes this long (nmap -T5 over a LAN: about 10,000 SYNs a second). */
const SCAN_MS = 6_500;
/** Scanners start within this window. */
const STAGGER_MS = 2_000;
const CHUNK_MS = 10;
const DOORS = [
  RAW_CLASSIC_DOOR,
  { name: 'quick', sequence: ['tcp:31700'], open: ['tcp:22'], openFor: '4s' },
  LEGIT_DOOR,
];

interface Line {
  readonly at: number;
  readonly text: string;
  readonly legitLast?: number;
}

function kernelLine(at: number, src: string, port: number, spt: number): string {
  const time = new Date(at).toISOString().replace('Z', '000+00:00');
  const v6 = src.includes(':');
  const dst = v6 ? '2001:db8:1::1' : '198.51.100.1';
  const head = v6
    ? `${time} vm kernel: knocktail: IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:86:dd SRC=${src} DST=${dst} LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=0`
    : `${time} vm kernel: knocktail: IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=${src} DST=${dst} LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF`;
  return `${head} PROTO=TCP SPT=${spt} DPT=${port} WINDOW=64240 RES=0x00 SYN URGP=0`;
}

// A small deterministic generator (mulberry32), so every run logs the same scan.
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

// What the guard logs of `sources` full scans, plus the legit client's knocks, in time order. In a
// random-order scan each port's probe time is uniform over the scan; only knock ports and the
// first tripwire hit (the per-source limit is one a minute; a scan lasts seconds) are logged.
function loggedLines(config: Config, sources: number): Line[] {
  const tripwires = tripwirePorts(config.doors, config.logPrefix).filter((port) => port.proto === 'tcp');
  const knockPorts = [31600, 31601, 31700, ...LEGIT_STEPS, 9100];
  const next = random(17);
  const lines: Line[] = [];
  for (let i = 0; i < sources; i++) {
    const src = sources === 1 ? '203.0.113.66' : `2001:db8:5::${(i + 1).toString(16)}`;
    const start = T0 + 500 + next() * STAGGER_MS;
    const hit = (port: number, at: number): void =>
      void lines.push({ at: Math.floor(at), text: kernelLine(Math.floor(at), src, port, 40000 + (port % 20000)) });
    for (const port of knockPorts) hit(port, start + next() * SCAN_MS);
    let first = Infinity;
    for (let k = 0; k < tripwires.length; k++) first = Math.min(first, next() * SCAN_MS);
    hit(tripwires[Math.floor(next() * tripwires.length)]!.port, start + first);
  }
  const gap = (STAGGER_MS + SCAN_MS) / TRIALS;
  for (let trial = 0; trial < TRIALS; trial++) {
    const at = T0 + 300 + trial * gap;
    LEGIT_STEPS.forEach((port, k) =>
      lines.push({
        at: at + k * 20,
        text: kernelLine(at + k * 20, LEGIT, port, 50000 + trial * 10 + k),
        ...(k === 2 ? { legitLast: trial } : {}),
      }),
    );
    lines.push({ at: at + 200, text: kernelLine(at + 200, LEGIT, 9100, 50000 + trial * 10 + 5) });
  }
  return lines.sort((a, b) => a.at - b.at);
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return Number(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!.toFixed(2));
}

async function measure(config: Config, sources: number): Promise<Record<string, string | number>> {
  const lines = loggedLines(config, sources);
  const knockedAt = new Map<number, number>();
  const latencies: number[] = [];
  let peakRss = process.memoryUsage().rss;
  let behind = 0;
  // Real time: each 10 ms of log time is handed over when that moment comes (or at once when the pipeline is behind).
  const source: ChunkSource = {
    async *chunks() {
      const started = performance.now();
      for (let i = 0; i < lines.length;) {
        const end = lines[i]!.at + CHUNK_MS;
        const batch: string[] = [];
        let last: number | undefined;
        for (; i < lines.length && lines[i]!.at < end; i++) {
          batch.push(lines[i]!.text);
          if (lines[i]!.legitLast !== undefined) last = lines[i]!.legitLast;
        }
        const due = started + (end - T0);
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        else behind = Math.max(behind, -wait);
        if (last !== undefined) knockedAt.set(last, performance.now());
        yield Buffer.from(`${batch.join('\n')}\n`);
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
      }
    },
  };
  let trial = 0;
  let audit = 0;
  let scannerOpens = 0;
  const result = await runReplay({
    config,
    source,
    bootTime: 0,
    referenceTime: T0 + 86_400_000,
    anyDestination: true,
    onRecord: (record) => {
      audit++;
      if (record.event === 'open' && record.src !== LEGIT) scannerOpens++;
    },
    onCommand: (command) => {
      const text = command.input ?? command.argv.join(' ');
      if (!text.includes(`-A KNOCKTAIL -s ${LEGIT} `)) return;
      const knocked = knockedAt.get(trial++);
      if (knocked !== undefined) latencies.push(performance.now() - knocked);
    },
  });
  const scannerGrants = result.openAtEnd.filter((grant) => grant.src !== LEGIT).length;
  return {
    sources,
    'log lines': lines.length,
    'lines per source': Number(((lines.length - TRIALS * 4) / sources).toFixed(1)),
    'legit open': `${latencies.length}/${TRIALS}`,
    'p50 ms': percentile(latencies, 50),
    'p95 ms': percentile(latencies, 95),
    'max behind ms': Number(behind.toFixed(1)),
    'scanner opens (revoked)': scannerOpens,
    'scanner grants at end': scannerGrants,
    'audit records': audit,
    'tracked sources': result.tracker.trackedSources,
    'scanners marked': result.tracker.scanners,
    'peak RSS MB': Number((peakRss / 2 ** 20).toFixed(1)),
  };
}

export const bench: BenchFunction = async ({ quick, workDir }) => {
  const dir = await mkdtemp(join(workDir, 'scan-'));
  let config: Config;
  try {
    await writeFile(join(dir, 'config.json'), JSON.stringify({ firewall: { backend: 'iptables' }, doors: DOORS }));
    config = await loadConfig(join(dir, 'config.json'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const rows = [await measure(config, 1), await measure(config, quick ? 500 : 5_000)];
  const tripwires = tripwirePorts(config.doors, config.logPrefix).map(formatPort);
  return {
    name: `port scans (simulated pipeline, real time): a full random-order SYN scan from 1 and from ${quick ? 500 : '5,000'} sources, ${TRIALS} legit 3-step knocks`,
    rows,
    notes: [
      `doors: classic (31600 opens until 31601), quick (31700, 4 s), legit (7000, 8000, 9000; 9100 closes); ${tripwires.length} tripwire ports (${tripwires.filter((port) => port.startsWith('tcp')).length} tcp)`,
      `each scan: all 65,535 ports in random order over ${SCAN_MS / 1000} s, scanners starting within ${STAGGER_MS / 1000} s; logged: every knock-port SYN and the first tripwire hit (the guard's one line per source per minute)`,
      'knock→open: the chunk with the last legit knock handed to the pipeline → the grant command reaches the (simulated) firewall',
      '"max behind ms": how late the pipeline took a chunk at worst (0 = kept up in real time); "scanner opens": grants a scanner got before its first tripwire line, each revoked at that line (or closed by its own close knock); "scanner grants at end": must be 0',
      'RSS: the bench process (generator + pipeline); tracked sources and scanner marks at the end of the run',
    ],
  };
};
