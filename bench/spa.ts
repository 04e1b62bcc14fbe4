// `npm run bench -- --only spa`: single packet authorization. Live: SPA packet sent → first
// connect to 22 that completed, on nftables and ipset, in the namespace rig with the real daemon
// (NFLOG → tcpdump → daemon → firewall), with a per-stage breakdown from the daemon's trace
// (KNOCKTAIL_TRACE); next to Debian's fwknopd in UDP-server and pcap mode (spa-fwknopd.ts).
// In process: packets verified per second on one core, valid ones (HMAC, decryption, digest,
// request, replay cache) and garbage (refused at the HMAC).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { normaliseAddress, type Address } from '../src/model/address.js';
import { ReplayCache } from '../src/spa/replay-cache.js';
import { ReplayJournal } from '../src/spa/replay-file.js';
import { SpaHandler, spaDoorsByPort, type SpaGrantPort } from '../src/spa/spa-handler.js';
import { sealSpaPacket } from '../src/spa/spa-packet.js';
import { decodeSpaKeys } from '../src/spa/spa-keys.js';
import type { Door } from '../src/model/door.js';
import { createLiveRig } from '../__tests__/system/support/live-rig.js';
import { addMedianRatio, type BenchFunction } from './section.js';
import { readTrace, stageTimesAfter, stepDurations, type Mark, type TraceStep } from './trace-marks.js';
import { FWKNOPD_MODES, hasFwknopd, measureFwknopd } from './spa-fwknopd.js';
import { latencyFields, quantile, raceSpa, SPA_PORT, type SpaRace } from './spa-race.js';

const KEY = randomBytes(32).toString('base64');
const HMAC_KEY = randomBytes(64).toString('base64');
const keys = decodeSpaKeys(KEY, HMAC_KEY);

function seal(address: string, timestamp = Math.floor(Date.now() / 1000)): Buffer {
  const random = String(Math.floor(Math.random() * 9e15) + 1e15);
  return sealSpaPacket(
    { random, user: 'bench', timestamp, version: '3.0.0', type: 1, message: `${address},tcp/22` },
    keys,
  );
}

// The SPA path's stages in order: the bench's send, the daemon's marks (src/trace/stage-trace.ts), the winning connect.
const STAGES = ['spa-read', 'spa-decided', 'spa-saved', 'audit-call', 'audit-written', 'fw-send', 'fw-ack'] as const;
type StageName = 'sent' | (typeof STAGES)[number] | 'open';
const STEPS: readonly TraceStep<StageName>[] = [
  { label: 'sent → datagram parsed (NFLOG, tcpdump, pcap reader)', from: 'sent', to: 'spa-read' },
  { label: 'parsed → decided (HMAC, AES, request, replay check)', from: 'spa-read', to: 'spa-decided' },
  { label: 'decided → replay journal written', from: 'spa-decided', to: 'spa-saved' },
  { label: 'saved → audit intent (grant engine)', from: 'spa-saved', to: 'audit-call' },
  { label: 'audit write', from: 'audit-call', to: 'audit-written' },
  { label: 'audit → firewall request', from: 'audit-written', to: 'fw-send' },
  { label: 'firewall request → ack read', from: 'fw-send', to: 'fw-ack' },
  { label: 'firewall request → winning connect (rule live; 1 ms polling)', from: 'fw-send', to: 'open' },
];

/**
 * Each opened trial's stage times in ms after the send: the first mark of each stage between
 * this trial's send and the next one's (the revoke between them marks only firewall stages,
 * after the grant's own). The connect's start is taken just before its SYN, so a stage may
 * end a little after it.
 */
function stageTimes(races: readonly SpaRace[], marks: readonly Mark[]): Map<StageName, number>[] {
  return races.flatMap((race, index) => {
    const { openAt } = race;
    if (openAt === undefined) return [];
    // Up to, not including, the next trial's send.
    const end = (races[index + 1]?.sentAt ?? race.sentAt + 10_000_000_000n) - 1n;
    const times: Map<StageName, number> = stageTimesAfter(STAGES, marks, race.sentAt, end);
    times.set('sent', 0);
    times.set('open', Number(openAt - race.sentAt) / 1e6);
    return [times];
  });
}

function breakdownRow(backend: string, times: readonly Map<StageName, number>[]): Record<string, string | number> {
  const row: Record<string, string | number> = { backend };
  for (const step of STEPS) {
    const deltas = stepDurations(times, step).sort((a, b) => a - b);
    row[`${step.label} median / p95 ms`] =
      deltas.length === 0 ? '' : `${quantile(deltas, 0.5).toFixed(2)} / ${quantile(deltas, 0.95).toFixed(2)}`;
  }
  return row;
}

// knocktail run in the namespace rig with KNOCKTAIL_TRACE: the latency row and its breakdown.
async function measureLive(
  backend: 'nftables' | 'ipset',
  trials: number,
): Promise<{ row: Record<string, string | number>; breakdown: Record<string, string | number> }> {
  const dir = await mkdtemp(join(tmpdir(), 'kt-spa-bench-'));
  await writeFile(join(dir, 'spa.key'), KEY, { mode: 0o600 });
  await writeFile(join(dir, 'spa-hmac.key'), HMAC_KEY, { mode: 0o600 });
  const tracePath = join(dir, 'trace');
  // The daemon inherits the bench's environment (`ip netns exec` keeps it).
  process.env['KNOCKTAIL_TRACE'] = tracePath;
  const live = await createLiveRig({
    backend,
    doors: [
      {
        name: 'spa',
        spa: { port: SPA_PORT, keyFile: join(dir, 'spa.key'), hmacKeyFile: join(dir, 'spa-hmac.key') },
        open: ['tcp:22'],
        openFor: '1h',
      },
    ],
  });
  try {
    await live.startDaemon();
    const { rig } = live;
    const load = loadavg()[0] ?? 0;
    const races: SpaRace[] = [];
    for (let trial = 0; trial < trials; trial += 1) {
      races.push(await raceSpa(rig, seal(rig.clientV4)));
      await live.cli(['revoke', rig.clientV4, '--config', live.configPath]);
      await live.waitClosed(rig.serverV4, 22, 3000);
    }
    // The trace is written 200 ms after its first unwritten mark.
    await new Promise((done) => setTimeout(done, 400));
    const times = stageTimes(races, await readTrace(tracePath));
    return {
      row: { backend: `knocktail, ${backend}`, 'load 1m': Number(load.toFixed(2)), ...latencyFields(races) },
      breakdown: breakdownRow(`knocktail, ${backend}`, times),
    };
  } finally {
    delete process.env['KNOCKTAIL_TRACE'];
    await live.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

async function measureThroughput(kind: 'valid' | 'garbage', count: number): Promise<Record<string, string | number>> {
  const door: Door = {
    name: 'spa',
    sequence: [],
    oneTimeSequences: [],
    timeout: 25_000,
    open: [{ proto: 'tcp', port: 22 }],
    openFor: 30_000,
    closeSequence: [],
    allowFrom: [],
    spa: {
      port: SPA_PORT,
      key: KEY,
      hmacKey: HMAC_KEY,
      keyFile: 'spa.key',
      hmacKeyFile: 'spa-hmac.key',
      maxAge: 120_000,
      allowNat: false,
      requireSourceAddress: false,
    },
  };
  const src = normaliseAddress('203.0.113.9') as Address;
  const garbage = randomBytes(150).toString('base64').replace(/=+$/, '');
  const payloads = Array.from({ length: count }, () =>
    kind === 'valid' ? seal(src.text) : Buffer.from(garbage, 'latin1'),
  );
  let accepted = 0;
  let refused = 0;
  const grants: SpaGrantPort = {
    full: () => false,
    open: () => {
      accepted += 1;
      return Promise.resolve();
    },
    refuse: () => {
      refused += 1;
      return undefined;
    },
  };
  // The real replay journal: every valid packet is appended before its grant, so the cost of a
  // cache holding tens of thousands of packets is in the figure.
  const dir = await mkdtemp(join(tmpdir(), 'kt-spa-journal-'));
  const cache = new ReplayCache(count + 1);
  const journal = await ReplayJournal.open(join(dir, 'spa-replay.journal'), {
    entries: () => cache.snapshot(Date.now()),
    count: () => cache.size,
  });
  const handler = new SpaHandler({
    ports: spaDoorsByPort([door]),
    grants,
    cache,
    now: () => Date.now(),
    remember: (entry) => journal.append(entry),
    count: () => undefined,
  });
  const start = process.hrtime.bigint();
  const effects = payloads.map((payload) => handler.receive({ src, dport: SPA_PORT, payload, length: payload.length }));
  await Promise.all(effects.map((effect) => effect ?? Promise.resolve()));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await journal.close();
  await rm(dir, { recursive: true, force: true });
  return {
    packets:
      kind === 'valid' ? `valid (${payloads[0]!.length} B)` : `garbage (${payloads[0]!.length} B, refused at the HMAC)`,
    count,
    'packets/s': Math.round(count / seconds),
    'µs per packet': Number(((seconds / count) * 1e6).toFixed(1)),
    outcome: `${accepted} accepted, ${refused} refused`,
  };
}

export const bench: BenchFunction = async ({ quick }) => {
  const loadBefore = loadavg().map((value) => value.toFixed(2));
  const throughput = [
    await measureThroughput('valid', quick ? 5_000 : 50_000),
    await measureThroughput('garbage', quick ? 20_000 : 200_000),
  ];
  const trials = quick ? 10 : 40;
  const knocktail = [await measureLive('nftables', trials), await measureLive('ipset', trials)];
  const latency = knocktail.map((measured) => measured.row);
  const fwknopd = hasFwknopd();
  if (fwknopd) {
    for (const mode of FWKNOPD_MODES)
      latency.push(await measureFwknopd(mode, { key: KEY, hmacKey: HMAC_KEY }, (address) => seal(address), trials));
    // Ratios against fwknopd's quickest mode (UDP server) and its default one (pcap, shipped settings).
    addMedianRatio(latency, latency[knocktail.length]!, 'fwknopd UDP server');
    addMedianRatio(latency, latency[knocktail.length + 1]!, 'fwknopd pcap default');
  }
  return {
    name: 'spa (single packet authorization)',
    rows: latency,
    tables: [
      {
        title:
          'knocktail SPA→open breakdown (daemon trace, CLOCK_MONOTONIC; median / p95 of each step over the trials)',
        rows: knocktail.map((measured) => measured.breakdown),
      },
      {
        title: 'packets verified per second, one core, in process (SpaHandler and its replay journal, no firewall)',
        rows: throughput,
      },
    ],
    notes: [
      "latency: from the SPA datagram sent in the client namespace to the start of the first connect to 22 that completed (a new connect every 1 ms, Node's timer floor); goal ≤ 3 ms median",
      'breakdown: each step is the median (and p95) of its own durations, so the steps need not add up to the median total; "rule live" is the winning connect, which may begin before the daemon reads the firewall tool\'s ack',
      'path: guard NFLOG copy (group = port, threshold 1) → tcpdump -i nflog:62201 -U -w - → pcap parse → HMAC → AES → decision → replay journal append → grant engine → audit → firewall',
      `load average (1, 5, 15 min) at the start: ${loadBefore.join(', ')}; at the end: ${loadavg()
        .map((value) => value.toFixed(2))
        .join(', ')}; "load 1m" in each row is at the start of its trials`,
      fwknopd
        ? 'fwknopd: the same rig and packets, its own config, run dir and digest cache, its rules flushed between trials; UDP server = -U (a socket and select()); pcap = libpcap on the server interface, polled (pcap_dispatch non-blocking, then usleep(PCAP_LOOP_SLEEP)), PCAP_FILTER "udp dst port 62201", PCAP_DISPATCH_COUNT 100, RULES_CHECK_THRESHOLD scaled with the loop sleep (its iptables -L every 2 s); libpcap delivers to it a TPACKET_V3 block at a time, with the 100 ms timeout fwknopd passes to pcap_open_live'
        : 'fwknopd: not installed, not measured',
    ],
  };
};
