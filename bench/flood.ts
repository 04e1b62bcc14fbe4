// Spoofed flood: in the namespace rig (kernel LOG → private rsyslogd → file → `knocktail run`),
// 50,000 distinct IPv6 sources (AnyIP /64 in the client namespace, one SYN each) complete a
// single-knock door while the client knocks a three-step door 20 times. Prints the legit knocks'
// knock→open times, the daemon's peak RSS, grants and firewall entries, state and audit sizes,
// and how many flood SYNs actually reached the log (kernel LOG rate limits, rsyslog).
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createLiveRig, type LiveRig } from '../__tests__/system/support/live-rig.js';
import {
  addFloodRoute,
  grantEntries,
  LEGIT_DOOR,
  LEGIT_STEPS,
  percentile,
  serverIpv6Packets,
  SINGLE_DOOR,
  startFlood,
  timeKnock,
} from '../__tests__/system/support/spoofed-flood.js';
import type { BenchFunction } from './section.js';
import { sleep } from '../__tests__/support/helpers.js';

const MAX_GRANTS = 1000;
const TRIALS = 20;

interface Variant {
  readonly backend: 'ipset' | 'nftables';
  readonly count: number;
  readonly rate: number;
}

async function peakRssMb(pid: number | undefined): Promise<number> {
  if (pid === undefined) return NaN;
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return kb === undefined ? NaN : Number(kb) / 1024;
}

const floodLines = async (live: LiveRig): Promise<number> =>
  (await readFile(live.logFile, 'utf8')).split('\n').filter((line) => line.includes('DPT=31600')).length;

// What the per-source LOG limiter remembers after the flood (hashlimit table or nft set).
async function limiterEntries(live: LiveRig, backend: Variant['backend']): Promise<number | string> {
  const { rig } = live;
  if (backend === 'ipset') {
    const { exitCode, stdout, stderr } = await rig.exec(rig.server, ['cat', '/proc/net/ip6t_hashlimit/knocktail6']);
    if (exitCode !== 0) return `unreadable: ${stderr.trim().slice(0, 60)}`;
    return stdout.split('\n').filter((line) => line.trim() !== '').length;
  }
  const { stdout } = await rig.exec(rig.server, ['nft', '-j', 'list', 'set', 'inet', 'knocktail', 'knocklog-v6']);
  const set = (JSON.parse(stdout) as { nftables: { set?: { elem?: unknown[] } }[] }).nftables.find(
    (item) => item.set,
  )?.set;
  return set?.elem?.length ?? 0;
}

async function measure(variant: Variant): Promise<Record<string, string | number>> {
  const live = await createLiveRig({
    backend: variant.backend,
    limits: { maxGrants: MAX_GRANTS, retransmitWindow: '1ms' },
    doors: [SINGLE_DOOR, LEGIT_DOOR],
  });
  try {
    await addFloodRoute(live);
    await live.startDaemon();
    const { rig } = live;
    const floodSeconds = variant.count / variant.rate;
    const packetsBefore = await serverIpv6Packets(live);
    const started = performance.now();
    const flood = startFlood(live, {
      host: rig.serverV6,
      port: 31600,
      count: variant.count,
      rate: variant.rate,
      maxSeconds: 60,
    });
    const times: number[] = [];
    let opened = 0;
    // Spread the legit knocks over the flood.
    const gap = Math.max(200, ((floodSeconds - 2) * 1000) / TRIALS - 150);
    await sleep(1000);
    for (let trial = 0; trial < TRIALS; trial++) {
      const result = await timeKnock(live, rig.serverV4, LEGIT_STEPS, 22, 3000);
      if (result.opened) {
        opened++;
        times.push(result.ms!);
      }
      await rig.connect(rig.client, rig.serverV4, 9100, 1);
      await live.waitClosed(rig.serverV4, 22, 3000);
      await sleep(gap);
    }
    const sent = await flood.done;
    const floodEnd = performance.now();
    // Wait until the daemon has handled every line that reached the log.
    let counters: Record<string, number> = {};
    let logged = 0;
    for (let wait = 0; wait < 300; wait++) {
      logged = await floodLines(live);
      counters = (
        JSON.parse((await live.cli(['status', '--json', '--config', live.configPath])).stdout) as {
          counters: Record<string, number>;
        }
      ).counters;
      if ((counters['opens'] ?? 0) + (counters['rejected'] ?? 0) >= logged + opened) break;
      await sleep(100);
    }
    const caughtUp = performance.now();
    const reachedServer = (await serverIpv6Packets(live)) - packetsBefore;
    const rss = await peakRssMb(live.daemonPid());
    const entries = await grantEntries(live, variant.backend);
    const limiter = await limiterEntries(live, variant.backend);
    await live.stopDaemon();
    const records = await live.auditRecords();
    const stateBytes = (await stat(join(live.dir, 'state', 'state.json'))).size;
    const auditBytes = (await stat(live.auditLog)).size;
    return {
      backend: variant.backend,
      'sources sent': sent.sent,
      'send s': Number(sent.seconds.toFixed(1)),
      'reached server': reachedServer,
      'reached log': `${logged} (${((100 * logged) / reachedServer).toFixed(1)} %)`,
      'done s': Number(((caughtUp - started) / 1000).toFixed(1)),
      'lag after flood s': Number(((caughtUp - floodEnd) / 1000).toFixed(1)),
      'legit open': `${opened}/${TRIALS}`,
      'p50 ms': percentile(times, 50),
      'p95 ms': percentile(times, 95),
      'max ms': percentile(times, 100),
      'peak RSS MB': rss,
      grants: entries.entries,
      duplicates: entries.duplicates,
      rejected: counters['rejected'] ?? 0,
      'audit records': records.length,
      'audit bytes': auditBytes,
      'state bytes': stateBytes,
      'limiter entries': limiter,
    };
  } finally {
    await live.destroy();
  }
}

export const bench: BenchFunction = async ({ quick }) => {
  const count = quick ? 10_000 : 50_000;
  const variants: Variant[] = [
    { backend: 'nftables', count, rate: 1_000 },
    { backend: 'ipset', count, rate: 1_000 },
    ...(quick ? [] : [{ backend: 'nftables' as const, count, rate: 5_000 }]),
  ];
  const rows: Record<string, string | number>[] = [];
  for (const variant of variants) rows.push({ rate: `${variant.rate}/s`, ...(await measure(variant)) });
  return {
    name: `spoofed flood (${count.toLocaleString('en-US')} distinct IPv6 sources on a single-knock door, ${TRIALS} legit 3-step knocks)`,
    rows,
    notes: [
      `limits.maxGrants ${MAX_GRANTS}, no door sets its own: each of the 2 doors gets 500; past it a new source is refused (grant-limit)`,
      'targets: 20/20 legit opens, knock→open p95 ≤ 30 ms, peak RSS ≤ 200 MB, grants ≤ maxGrants, 0 duplicates, audit log bounded',
      'knock→open: last knock SYN sent → a new TCP connect to 22 succeeds (3 ms connect polling); p95 is nearest-rank (19th of 20)',
      '"reached server": IPv6 packets the server namespace received (Ip6InReceives; the flood plus a few NDP packets); "reached log": flood SYNs whose kernel LOG line reached the knock log file through rsyslog, % of those received',
      '"limiter entries": sources the per-source LOG limiter (nft knocklog-v6 set / ip6t_hashlimit table) holds after the flood',
    ],
  };
};
