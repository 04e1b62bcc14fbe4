// Fleet fan-out on a real 3-node JetStream cluster (fleet rig: namespaces, nats-server,
// one knocktail daemon per bastion): t0 = the knock SYN sent to b1, end = a new TCP connect
// to port 22 of the last member succeeds (b3), and with 20 members also the moment the last
// of 17 simulated members (FleetLinks in one process against the same cluster) applied it.
// Then NATS messages per grant (server counters, heartbeats subtracted) and CPU per daemon
// while b1 takes 100 grants/s.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { repoRoot } from '../__tests__/system/support/built-cli.js';
import {
  createFleetRig,
  MONITOR_PORTS,
  NATS_ADDRESS,
  type FleetRig,
  type NatsLogin,
} from '../__tests__/system/support/fleet-rig.js';
import type { BenchFunction } from './section.js';
import { sleep } from '../__tests__/support/helpers.js';

const DOORS = [
  { name: 'ssh', sequence: ['tcp:31600'], open: ['tcp:22'], openFor: '5m', closeSequence: ['tcp:31601'], fleet: true },
];
const SIMULATED = 17;
const SIMULATED_HOSTS = Array.from({ length: SIMULATED }, (_, index) => `s${String(index + 1).padStart(2, '0')}`);

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const dist = (path: string): string => JSON.stringify(join(repoRoot, 'dist', 'src', path));

// 17 members in one process: each a FleetLink with its own NATS connection, and a grant
// engine stand-in that records the moment it applies a change (and audits it, as a member does).
function simulatorScript(keyFile: string, logins: Record<string, NatsLogin>): string {
  return `
    import { readFileSync } from 'node:fs';
    import { FleetLink } from ${dist('fleet/fleet-link.js')};
    import { connectNatsFleet } from ${dist('fleet/nats-transport.js')};
    import { SystemClock } from ${dist('model/clock.js')};
    const key = readFileSync(${JSON.stringify(keyFile)}, 'utf8').trim();
    const links = [];
    for (let i = 1; i <= ${SIMULATED}; i++) {
      const host = 's' + String(i).padStart(2, '0');
      const login = ${JSON.stringify(logins)}[host];
      const config = { servers: login.servers, group: 'bastions', host, auth: { kind: 'user', user: login.user, password: login.password }, tls: login.tls, key, keyFile: '', maxClockSkew: 2000, heartbeatInterval: 1000, replicas: 3, auditRetention: 86400000, doors: ['ssh'] };
      let listener = () => {};
      const held = new Map();
      const port = {
        hasDoor: (door) => door === 'ssh',
        onRecord: (next) => { listener = next; },
        async open(door, src, family, until) {
          const at = Date.now();
          if ((held.get(src) ?? 0) >= until) return 'unchanged';
          held.set(src, until);
          process.stdout.write(JSON.stringify({ host, kind: 'open', at }) + '\\n');
          listener({ event: 'open', at: new Date(at).toISOString(), door, src, ports: ['tcp:22'], until: new Date(until).toISOString(), by: 'fleet' });
          return 'opened';
        },
        async close(door, src, reason) {
          if (!held.delete(src)) return false;
          const at = Date.now();
          process.stdout.write(JSON.stringify({ host, kind: 'close', at }) + '\\n');
          listener({ event: 'close', at: new Date(at).toISOString(), door, src, reason });
          return true;
        },
      };
      const transport = await connectNatsFleet(config, { bucketTtl: 90000000 });
      const link = new FleetLink({ config, maxOpenFor: 86400000, port, transport, clock: new SystemClock(), log: { info() {}, warn() {} }, version: 'sim' });
      await link.start();
      links.push(link);
    }
    process.stdout.write(JSON.stringify({ kind: 'ready' }) + '\\n');
    process.stdin.resume();
    process.stdin.on('end', async () => { for (const link of links) await link.stop(); process.exit(0); });
  `;
}

interface Simulator {
  count(kind: 'open' | 'close'): number;
  last(kind: 'open' | 'close'): number;
  stop(): Promise<void>;
}

async function startSimulator(fleet: FleetRig): Promise<Simulator> {
  const file = join(fleet.dir, 'simulator.mjs');
  const logins = Object.fromEntries(SIMULATED_HOSTS.map((host) => [host, fleet.login(host)]));
  await import('node:fs/promises').then(({ writeFile }) => writeFile(file, simulatorScript(fleet.keyFile, logins)));
  const child = fleet.rig.spawn(fleet.client, ['node', file]);
  const counts = { open: 0, close: 0 };
  const lasts = { open: 0, close: 0 };
  const started = { ready: false };
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const event = JSON.parse(line) as { kind: 'open' | 'close' | 'ready'; at?: number };
    if (event.kind === 'ready') started.ready = true;
    else {
      counts[event.kind] += 1;
      lasts[event.kind] = Math.max(lasts[event.kind], event.at ?? 0);
    }
  });
  const deadline = Date.now() + 60_000;
  while (!started.ready) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`simulated members did not start: ${stderr}`);
    await sleep(50);
  }
  return {
    count: (kind) => counts[kind],
    last: (kind) => lasts[kind],
    async stop() {
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      child.stdin!.end();
      const timer = setTimeout(
        () => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'),
        10_000,
      );
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Messages the three NATS servers took in so far (client and route traffic, JetStream included). */
async function serverMessages(fleet: FleetRig): Promise<number> {
  const script = `
    let total = 0;
    for (const port of ${JSON.stringify(MONITOR_PORTS)}) {
      try { total += (await (await fetch('http://${NATS_ADDRESS}:' + port + '/varz')).json()).in_msgs; } catch {}
    }
    console.log(total);
  `;
  return Number((await fleet.node(fleet.client, script)).stdout.trim());
}

async function measureFanOut(fleet: FleetRig, rounds: number, simulator?: Simulator): Promise<number[]> {
  const last = fleet.members.at(-1)!;
  const first = fleet.members[0]!;
  const latencies: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const wall0 = Date.now();
    const t0 = performance.now();
    await fleet.connect(first.address, 31600, 1);
    let opened: number | undefined;
    while (performance.now() - t0 < 5000) {
      if (await fleet.connect(last.address, 22, 3)) {
        opened = performance.now() - t0;
        break;
      }
    }
    if (opened === undefined) {
      const knocks = (await readFile(join(fleet.dir, first.host, 'knocks.log'), 'utf8').catch(() => ''))
        .split('\n')
        .slice(-6)
        .join('\n');
      throw new Error(
        `round ${round} (knock sent ${new Date(wall0).toISOString()}): the door did not open on ${last.host} within 5 s\n${first.output().slice(-4000)}\n---last\n${last.output().slice(-4000)}\n---${first.host}'s knock log, last lines\n${knocks}`,
      );
    }
    let latency = opened;
    if (simulator) {
      const want = SIMULATED * (round + 1);
      const deadline = Date.now() + 5000;
      while (simulator.count('open') < want && Date.now() < deadline) await sleep(2);
      if (simulator.count('open') < want)
        throw new Error(`round ${round}: only ${simulator.count('open')} of ${want} simulated opens`);
      latency = Math.max(opened, simulator.last('open') - wall0);
    }
    latencies.push(latency);
    await fleet.connect(first.address, 31601, 1);
    if (!(await fleet.waitClosed(last.address, 22, 5000)))
      throw new Error(
        `round ${round}: the door did not close on ${last.host}\n${first.output().slice(-4000)}\n---last\n${last.output().slice(-4000)}`,
      );
    if (simulator) {
      const deadline = Date.now() + 5000;
      while (simulator.count('close') < SIMULATED * (round + 1) && Date.now() < deadline) await sleep(2);
    }
    await sleep(100);
  }
  return latencies;
}

async function cpuTicks(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15 of stat)
}

/** b1 takes `rate` manual grants a second (control socket, distinct IPv6 sources, 3 s each) for `seconds`. */
async function cpuAtRate(fleet: FleetRig, rate: number, seconds: number): Promise<Record<string, number>> {
  const first = fleet.members[0]!;
  const socket = join(fleet.dir, first.host, 'state', 'control.sock');
  const script = `
    import { requestDaemon } from ${dist('control/control-client.js')};
    const end = Date.now() + ${seconds * 1000};
    let sent = 0;
    const pending = [];
    while (Date.now() < end && sent < ${rate * seconds}) {
      const src = '2001:db8:f::' + (sent + 1).toString(16);
      pending.push(requestDaemon(${JSON.stringify(socket)}, { op: 'grant', src, door: 'ssh', for: '3s' }).catch(() => undefined));
      sent += 1;
      const due = Date.now() + 0;
      await new Promise((r) => setTimeout(r, Math.max(0, ${1000 / rate} - (Date.now() - due))));
    }
    await Promise.all(pending);
    console.log(sent);
  `;
  const pids = fleet.members.map((member) => member.pid()!);
  const before = await Promise.all(pids.map(cpuTicks));
  const t0 = performance.now();
  await fleet.node(first.ns, script, (seconds + 30) * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  const after = await Promise.all(pids.map(cpuTicks));
  const ticksPerSecond = 100; // USER_HZ on Linux
  return Object.fromEntries(
    fleet.members.map((member, index) => [
      member.host,
      ((after[index]! - before[index]!) / ticksPerSecond / elapsed) * 100,
    ]),
  );
}

export const bench: BenchFunction = async ({ quick }) => {
  const rounds = quick ? 10 : 40;
  // ipset: the backend README recommends past a handful of grants (one session, no process per change).
  const fleet = await createFleetRig({
    members: 3,
    doors: DOORS,
    ports: [22],
    backend: 'ipset',
    extraUsers: SIMULATED_HOSTS,
  });
  try {
    for (const member of fleet.members) await member.start();
    await sleep(2000);
    const rows: Record<string, string | number>[] = [];

    // Heartbeat traffic alone, to subtract from the per-grant count.
    const idle0 = await serverMessages(fleet);
    const idleStart = performance.now();
    await sleep(5000);
    const idleRate = ((await serverMessages(fleet)) - idle0) / ((performance.now() - idleStart) / 1000);

    const m0 = await serverMessages(fleet);
    const s0 = performance.now();
    const three = await measureFanOut(fleet, rounds);
    const seconds3 = (performance.now() - s0) / 1000;
    const perGrant3 = ((await serverMessages(fleet)) - m0 - idleRate * seconds3) / (rounds * 2);
    rows.push({
      members: '3 real',
      rounds,
      'median ms': percentile(three, 50),
      'p95 ms': percentile(three, 95),
      'max ms': Math.max(...three),
      'NATS msgs per change': perGrant3,
    });

    const simulator = await startSimulator(fleet);
    try {
      await sleep(2000);
      const idle1 = await serverMessages(fleet);
      const idleStart20 = performance.now();
      await sleep(5000);
      const idleRate20 = ((await serverMessages(fleet)) - idle1) / ((performance.now() - idleStart20) / 1000);
      const m1 = await serverMessages(fleet);
      const s1 = performance.now();
      const twenty = await measureFanOut(fleet, rounds, simulator);
      const seconds20 = (performance.now() - s1) / 1000;
      const perGrant20 = ((await serverMessages(fleet)) - m1 - idleRate20 * seconds20) / (rounds * 2);
      rows.push({
        members: '20 (3 real + 17 simulated)',
        rounds,
        'median ms': percentile(twenty, 50),
        'p95 ms': percentile(twenty, 95),
        'max ms': Math.max(...twenty),
        'NATS msgs per change': perGrant20,
      });
    } finally {
      await simulator.stop();
    }

    const cpu = await cpuAtRate(fleet, 100, quick ? 5 : 10);
    const cpuRow: Record<string, string | number> = { members: 'CPU % of one core at 100 grants/s on b1' };
    for (const [host, percent] of Object.entries(cpu)) cpuRow[host] = percent;
    rows.push(cpuRow);
    return {
      name: 'fleet',
      rows,
      notes: [
        'NATS with TLS and one user per member (as docs/fleet.md); backend ipset on every member; latency: knock SYN to b1 → new TCP connect to port 22 on b3 succeeds (with 20: and the last of 17 simulated members applied it); one change = an open or a close, each round has both',
        'NATS msgs per change: in_msgs summed over the 3 servers (client publishes, JetStream replication and acks, route traffic), heartbeat traffic measured idle and subtracted',
        'CPU: utime+stime of each daemon over the run, b1 applying 100 manual grants/s (3 s each, so 100 expiries/s too), b2 and b3 applying them from the fleet',
        'targets of issue 12: p95 ≤ 50 ms with 3 members, ≤ 100 ms with 20',
      ],
    };
  } finally {
    await fleet.destroy();
  }
};
