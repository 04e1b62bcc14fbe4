import type { ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { LiveRig } from './live-rig.js';

// A spoofed-source flood for the live rig: the client namespace gets an AnyIP route for a
// documentation /64 (`ip -6 route add local PREFIX/64 dev lo`), and a small Node sender binds
// each SYN to a fresh address in it, so every SYN comes from another source. The server drops
// the SYNs (knock ports); the sender destroys each socket right after its SYN left (no retries).
// Bounded in count and in time. Shared by the system test and the flood bench.

export const FLOOD_PREFIX = '2001:db8:f100::';

/** The flood's targets: a single-knock door anybody hits, and the legitimate client's three-step door. */
export const LEGIT_STEPS = [7000, 8000, 9000];
export const SINGLE_DOOR = { name: 'single', sequence: ['tcp:31600'], open: ['tcp:8080'], openFor: '1h' } as const;
export const LEGIT_DOOR = {
  name: 'legit',
  sequence: LEGIT_STEPS.map((port) => `tcp:${port}`),
  timeout: '5s',
  open: ['tcp:22'],
  openFor: '1h',
  closeSequence: ['tcp:9100'],
} as const;
export const FLOOD_NET = `${FLOOD_PREFIX}/64`;

export interface FloodOptions {
  readonly host: string;
  readonly port: number;
  /** Distinct sources (one SYN each). */
  readonly count: number;
  /** SYNs per second (sent in batches every 10 ms). */
  readonly rate: number;
  /** Hard stop, seconds. */
  readonly maxSeconds: number;
}

export interface FloodResult {
  readonly sent: number;
  readonly errors: number;
  readonly seconds: number;
}

const SENDER = String.raw`
const net = require('node:net');
const [host, port, count, rate, maxSeconds, prefix] = process.argv.slice(1);
const total = Number(count), perTick = Math.max(1, Math.round(Number(rate) / 100));
const started = Date.now(), end = started + Number(maxSeconds) * 1000;
let sent = 0, errors = 0;
const finish = () => { process.stdout.write(JSON.stringify({ sent, errors, seconds: (Date.now() - started) / 1000 })); process.exit(0); };
const tick = () => {
  if (sent >= total || Date.now() > end) return setTimeout(finish, 50);
  for (let i = 0; i < perTick && sent < total; i++) {
    sent++;
    // Addresses 1..count in the /64 (never ::0): one per SYN.
    const local = prefix + (sent >>> 16).toString(16) + ':' + (sent & 0xffff).toString(16);
    const socket = net.connect({ host, port: Number(port), localAddress: local });
    socket.on('error', () => { errors++; });
    setTimeout(() => socket.destroy(), 5);
  }
  const due = started + (sent / Number(rate)) * 1000;
  setTimeout(tick, Math.max(0, due - Date.now()));
};
tick();
process.on('SIGTERM', finish);
`;

/**
 * Adds the AnyIP route for FLOOD_NET in the client namespace (gone with the namespace). IPv6
 * bind() checks configured addresses, not local routes, so the namespace also gets
 * net.ipv6.ip_nonlocal_bind=1 (a per-namespace sysctl: the host's stays as it is). Then one ping
 * resolves the server's neighbour entry: a flood started before that loses its first ~1,700 SYNs
 * in the client's unresolved-neighbour queue (measured), which would look like kernel log loss.
 */
export async function addFloodRoute(live: LiveRig): Promise<void> {
  const { rig } = live;
  for (const [argv, input] of [
    [['ip', '-6', 'route', 'add', 'local', FLOOD_NET, 'dev', 'lo'], ''],
    // tee (coreutils), not sysctl: procps is not on every CI image.
    [['tee', '/proc/sys/net/ipv6/ip_nonlocal_bind'], '1\n'],
  ] as const) {
    const result = await rig.exec(rig.client, argv, { input });
    if (result.exitCode !== 0) throw new Error(`${argv.join(' ')} failed: ${result.stderr}`);
  }
  for (let attempt = 0; ; attempt++) {
    const ping = await rig.exec(rig.client, ['ping', '-6', '-c', '1', '-W', '2', rig.serverV6]);
    if (ping.exitCode === 0) return;
    if (attempt === 5) throw new Error(`the server does not answer ping over IPv6: ${ping.stdout}${ping.stderr}`);
  }
}

/** The server namespace's Ip6InReceives (/proc/net/snmp6): IPv6 packets that reached it (the flood is the only IPv6 traffic). */
export async function serverIpv6Packets(live: LiveRig): Promise<number> {
  const { stdout } = await live.rig.exec(live.rig.server, ['cat', '/proc/net/snmp6']);
  return Number(/^Ip6InReceives\s+(\d+)/m.exec(stdout)?.[1] ?? NaN);
}

export interface RunningFlood {
  readonly done: Promise<FloodResult>;
  stop(): void;
}

/** Starts the sender in the client namespace; `done` resolves with what it sent. */
export function startFlood(live: LiveRig, options: FloodOptions): RunningFlood {
  const { rig } = live;
  const child: ChildProcess = rig.spawn(rig.client, [
    'node',
    '-e',
    SENDER,
    options.host,
    String(options.port),
    String(options.count),
    String(options.rate),
    String(options.maxSeconds),
    FLOOD_PREFIX,
  ]);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const killer = setTimeout(
    () => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'),
    (options.maxSeconds + 10) * 1000,
  );
  const done = new Promise<FloodResult>((resolve, reject) => {
    child.once('exit', () => {
      clearTimeout(killer);
      try {
        resolve(JSON.parse(output) as FloodResult);
      } catch {
        reject(new Error(`flood sender failed: ${output}`));
      }
    });
  });
  return {
    done,
    stop() {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
    },
  };
}

export interface KnockTrial {
  readonly opened: boolean;
  /** Last knock SYN sent → a new TCP connect to the protected port succeeds, ms. */
  readonly ms?: number;
}

/** Knock `steps` (one SYN each, no wait), then poll new connects to `port` (3 ms attempts) up to `limitMs`. */
export async function timeKnock(
  live: LiveRig,
  host: string,
  steps: readonly number[],
  port: number,
  limitMs: number,
): Promise<KnockTrial> {
  const { rig } = live;
  for (const step of steps.slice(0, -1)) await rig.connect(rig.client, host, step, 1);
  const t0 = performance.now();
  await rig.connect(rig.client, host, steps.at(-1)!, 1);
  while (performance.now() - t0 < limitMs) {
    if (await rig.connect(rig.client, host, port, 3)) return { opened: true, ms: performance.now() - t0 };
  }
  return { opened: false };
}

/** Grant entries the firewall holds for `backend`, and how many repeat one already held. */
export async function grantEntries(
  live: LiveRig,
  backend: 'ipset' | 'nftables',
): Promise<{ entries: number; duplicates: number; bySet: Record<string, number> }> {
  const { rig } = live;
  let keys: string[];
  if (backend === 'ipset') {
    const { stdout } = await rig.exec(rig.server, ['ipset', 'save']);
    keys = stdout
      .split('\n')
      .filter((line) => line.startsWith('add knocktail-'))
      .map((line) => line.split(' ').slice(1, 3).join(' '));
  } else {
    const { stdout } = await rig.exec(rig.server, ['nft', '-j', 'list', 'table', 'inet', 'knocktail']);
    const items = (JSON.parse(stdout) as { nftables: { set?: { name: string; elem?: unknown[] } }[] }).nftables;
    // knocklog-v4/-v6 hold the per-source LOG rate limits, not grants.
    keys = items
      .filter((item) => item.set && !item.set.name.startsWith('knocklog-'))
      .flatMap((item) =>
        (item.set?.elem ?? []).map(
          (elem) => `${item.set!.name} ${JSON.stringify((elem as { elem?: { val?: unknown } }).elem?.val ?? elem)}`,
        ),
      );
  }
  const bySet: Record<string, number> = {};
  for (const key of keys) bySet[key.split(' ')[0]!] = (bySet[key.split(' ')[0]!] ?? 0) + 1;
  return { entries: keys.length, duplicates: keys.length - new Set(keys).size, bySet };
}

/** Nearest-rank percentile (p95 of 20 values is the 19th smallest). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
