// Live latency: in the namespace rig (real kernel LOG → private rsyslogd → file → `knocktail run`
// → firewall), t0 = the knock SYN sent, end = the send of the first SYN to the protected port
// that the firewall let through (the port was open when it arrived; the SYN before it was
// dropped, so the port opened between the two: "prober step"). The client agent starts a new
// connect every POLL_MS (Node timers are no finer; a spinning prober took a core from the daemon
// on this 2-core machine and made every stage slower). The handshake's end, which this bench
// used to report, is shown beside it. Per backend: median and p95 through rsyslog, with `source: "kmsg"` and with
// `source: "nflog"` (NFLOG → a private ulogd2 → file, nf_log_all_netns left at 0), then under a
// SYN flood; and Debian's knockd (pcap on the server's interface, same door, same trial) when it
// is installed. The daemon runs with KNOCKTAIL_TRACE, so every trial also yields the time of each
// stage (src/trace/stage-trace.ts), all on CLOCK_MONOTONIC: the breakdown table shows where the
// time goes.
import { existsSync, watch } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createLiveRig, type LiveRig } from '../__tests__/system/support/live-rig.js';
import { createRig, type KnockRace, type Rig } from '../__tests__/system/support/netns.js';
import { addMedianRatio, type BenchFunction } from './section.js';
import { readTrace, stageTimesAfter, stepDurations, type Mark, type TraceStep } from './trace-marks.js';
import { sleep } from '../__tests__/support/helpers.js';
import { RAW_CLASSIC_DOOR } from '../__tests__/support/door.js';

const FLOOD_ADDRESS = '198.51.100.3';
const KNOCKD = '/usr/sbin/knockd';
const POLL_MS = 1;
const LIMIT_MS = 2000;
// The NIC-like rig: the server (its agent, the daemon and its children, received packets) on
// CPU 0 and the client on CPU 1, as if the client were another machine; see RigCpus.
const NIC_CPUS = { server: 0, client: 1 } as const;
const RIG_VETH = "veth (packet received on the sender's CPU)";
const RIG_NIC = "NIC-like (RPS to the server's CPU, client on the other)";
const ms = (from: bigint, to: bigint): number => Number(to - from) / 1e6;

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const knockRace = (rig: Rig): Promise<KnockRace> =>
  rig.knockRace(rig.client, rig.serverV4, 31600, 22, { everyMs: POLL_MS, attemptMs: 100, limitMs: LIMIT_MS });

async function closeDoor(rig: Rig, waitClosed: () => Promise<boolean>): Promise<void> {
  await rig.connect(rig.client, rig.serverV4, 31601, 1);
  await waitClosed();
}

// Stages in path order; each trial's time of a stage is its first mark after the knock was sent.
const STAGES = ['file', 'wake', 'read', 'audit-call', 'audit-written', 'fw-send', 'fw-ack'] as const;
type StageName = 'sent' | (typeof STAGES)[number] | 'open';
const STEPS: readonly TraceStep<StageName>[] = [
  { label: 'kernel → line in file', from: 'sent', to: 'file' },
  { label: 'file → follower awake', from: 'file', to: 'wake' },
  { label: 'kernel → reader awake', from: 'sent', to: 'wake' },
  { label: 'awake → chunk read', from: 'wake', to: 'read' },
  { label: 'read → audit intent (parse, knock, grant)', from: 'read', to: 'audit-call' },
  { label: 'audit write(2) done', from: 'audit-call', to: 'audit-written' },
  { label: 'audit → firewall request', from: 'audit-written', to: 'fw-send' },
  { label: 'firewall request → ack', from: 'fw-send', to: 'fw-ack' },
  { label: 'ack → winning connect SYN (polling)', from: 'fw-ack', to: 'open' },
];

/** Every trial's stage times (ms after the knock was sent), from the daemon's trace and the bench's own watch on the log. */
function stageTimes(trials: readonly KnockRace[], marks: readonly Mark[]): Map<StageName, number>[] {
  return trials.map((trial) => {
    const end = trial.openAt ?? trial.sentAt + BigInt(LIMIT_MS * 1e6);
    const times: Map<StageName, number> = stageTimesAfter(STAGES, marks, trial.sentAt, end);
    times.set('sent', 0);
    if (trial.openSentAt !== undefined) times.set('open', ms(trial.sentAt, trial.openSentAt));
    return times;
  });
}

function breakdownRow(name: string, times: readonly Map<StageName, number>[]): Record<string, string | number> {
  const row: Record<string, string | number> = { run: name };
  for (const step of STEPS) {
    const deltas = stepDurations(times, step);
    row[step.label] = deltas.length === 0 ? '' : percentile(deltas, 50);
  }
  const own = times.flatMap((trial) => {
    // rsyslog and nflog: from the line landing in the file; kmsg: from the reader being woken (the kernel's share ends there).
    const from = trial.get('file') ?? trial.get('wake');
    const to = trial.get('fw-send');
    return from === undefined || to === undefined ? [] : [to - from];
  });
  row['knocktail own (file or kmsg wake → fw request)'] = own.length === 0 ? '' : percentile(own, 50);
  return row;
}

// The port opened between the last dropped SYN and the winning one: the winning SYN's send
// time is the figure (an upper bound, off by at most one prober step); the handshake's end is
// shown beside it because that is what earlier versions of this bench reported.
// `acked`: each trial's time from the knock to the firewall tool's acknowledgement of the
// change (the daemon's trace), when the rule or element is in the kernel: no prober step in it.
function latencyRow(
  fields: Record<string, string | number>,
  trials: readonly KnockRace[],
  total: number,
  acked?: readonly number[],
): Record<string, string | number> {
  const won = trials.filter((trial) => trial.openSentAt !== undefined && trial.openAt !== undefined);
  const opened = won.map((trial) => ms(trial.sentAt, trial.openSentAt!));
  const steps = won.map((trial) => ms(trial.refusedSentAt ?? trial.sentAt, trial.openSentAt!));
  const connected = won.map((trial) => ms(trial.sentAt, trial.openAt!));
  return {
    ...fields,
    trials: total,
    opened: opened.length,
    'median ms': percentile(opened, 50),
    'p95 ms': percentile(opened, 95),
    'prober step ms': percentile(steps, 50),
    'connect done median ms': percentile(connected, 50),
    'knock → rule in kernel median / p95 ms':
      acked && acked.length > 0 ? `${percentile(acked, 50).toFixed(2)} / ${percentile(acked, 95).toFixed(2)}` : '',
  };
}

// A bounded SYN flood (count and time) from FLOOD_ADDRESS: half to knock ports, half elsewhere.
const FLOOD = String.raw`
const net = require('node:net');
const [host, local, seconds] = process.argv.slice(1);
const ports = [31600, 31601, 7000, 9000];
const end = Date.now() + Number(seconds) * 1000;
let sent = 0;
const tick = () => {
  if (Date.now() > end || sent > 200000) { process.stdout.write(String(sent)); process.exit(0); }
  for (let i = 0; i < 50; i++) {
    const port = i % 2 === 0 ? ports[(sent >> 1) % ports.length] : 20000 + (sent % 1000);
    const s = net.connect({ host, port, localAddress: local });
    s.on('error', () => {});
    setTimeout(() => s.destroy(), 1);
    sent++;
  }
  setTimeout(tick, 10);
};
tick();
`;

/** Grant rules/elements the firewall holds, and how many of them repeat a (source, port) already held. */
async function countGrantEntries(live: LiveRig, backend: string): Promise<{ entries: number; duplicates: number }> {
  const { rig } = live;
  let keys: string[];
  if (backend === 'iptables') {
    const { stdout } = await rig.exec(rig.server, ['iptables', '-w', '-S', 'KNOCKTAIL']);
    keys = stdout
      .split('\n')
      .filter((line) => line.startsWith('-A KNOCKTAIL') && line.includes('-s '))
      .map((line) => line.replace(/-m comment .*$/, ''));
  } else if (backend === 'ipset') {
    const { stdout } = await rig.exec(rig.server, ['ipset', 'save']);
    keys = stdout
      .split('\n')
      .filter((line) => line.startsWith('add knocktail-'))
      .map((line) => line.split(' ').slice(0, 3).join(' '));
  } else {
    const { stdout } = await rig.exec(rig.server, ['nft', '-j', 'list', 'table', 'inet', 'knocktail']);
    const items = (JSON.parse(stdout) as { nftables: { set?: { name: string; elem?: unknown[] } }[] }).nftables;
    // knocklog-v4/-v6 hold the per-source LOG rate limits, not grants.
    keys = items
      .filter((item) => item.set && !item.set.name.startsWith('knocklog-'))
      .flatMap((item) =>
        (item.set?.elem ?? []).map(
          (elem) =>
            `${item.set?.name ?? ''} ${JSON.stringify((elem as { elem?: { val?: unknown } }).elem?.val ?? elem)}`,
        ),
      );
  }
  return { entries: keys.length, duplicates: keys.length - new Set(keys).size };
}

interface Measured {
  readonly rows: Record<string, string | number>[];
  readonly breakdown: Record<string, string | number>[];
}

type Backend = 'iptables' | 'ipset' | 'nftables';

// `nic`: the rig's hosts pinned to the two CPUs, received packets steered to the server's (RigCpus).
type Source = 'rsyslog' | 'kmsg' | 'nflog';

async function measureKnocktail(
  backend: Backend,
  source: Source,
  trials: number,
  flood: boolean,
  nic: boolean,
): Promise<Measured> {
  const scratch = await mkdtemp(join(tmpdir(), 'kt-live-trace-'));
  const tracePath = join(scratch, 'trace');
  // The daemon inherits the bench's environment (`ip netns exec` keeps it).
  process.env['KNOCKTAIL_TRACE'] = tracePath;
  const live = await createLiveRig({
    backend,
    doors: [RAW_CLASSIC_DOOR],
    limits: { retransmitWindow: '1ms' },
    ...(source === 'kmsg' ? { extra: { source: 'kmsg' } } : {}),
    ...(source === 'nflog' ? { source: 'nflog' as const } : {}),
    ...(nic ? { cpus: NIC_CPUS } : {}),
  });
  // When rsyslog's (or ulogd's) line lands in the file, seen from outside the daemon (the bench's own inotify watch).
  const fileMarks: Mark[] = [];
  const name = basename(live.logFile);
  const watcher = watch(dirname(live.logFile), (_event, changed) => {
    if (changed === name) fileMarks.push({ stage: 'file', at: process.hrtime.bigint() });
  });
  try {
    await live.startDaemon();
    const { rig } = live;
    const waitClosed = (): Promise<boolean> => live.waitClosed(rig.serverV4, 22, 3000);
    const plain: KnockRace[] = [];
    for (let trial = 0; trial < trials; trial += 1) {
      await sleep(50 + Math.floor(Math.random() * 150));
      plain.push(await knockRace(rig));
      await closeDoor(rig, waitClosed);
    }
    await sleep(400);
    const marks = [
      ...(await readTrace(tracePath, (stage) => (stage.startsWith('wake-') ? 'wake' : stage))),
      ...(source === 'kmsg' ? [] : fileMarks),
    ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    const label = `${backend}, ${source}${nic ? ', NIC-like' : ''}`;
    const times = stageTimes(plain, marks);
    const acked = times.flatMap((trial) => trial.get('fw-ack') ?? []);
    const rows = [latencyRow({ backend, source, rig: nic ? RIG_NIC : RIG_VETH, load: 'idle' }, plain, trials, acked)];
    const breakdown = [breakdownRow(label, times)];
    if (flood) {
      await rig.exec(rig.client, ['ip', 'addr', 'add', `${FLOOD_ADDRESS}/24`, 'dev', 'ktfwc']);
      const flooder = rig.spawn(rig.client, ['node', '-e', FLOOD, rig.serverV4, FLOOD_ADDRESS, '30']);
      const floodDone = new Promise<void>((done) => flooder.once('exit', () => done()));
      const flooded: KnockRace[] = [];
      const floodTrials = Math.min(20, trials);
      for (let trial = 0; trial < floodTrials; trial += 1) {
        await sleep(100 + Math.floor(Math.random() * 200));
        flooded.push(await knockRace(rig));
        await closeDoor(rig, waitClosed);
      }
      if (flooder.pid !== undefined && flooder.exitCode === null) process.kill(flooder.pid, 'SIGTERM');
      await floodDone;
      const { entries, duplicates } = await countGrantEntries(live, backend);
      const floodRecords = (await live.auditRecords()).filter(
        (r) => r['src'] === FLOOD_ADDRESS && r['event'] === 'open',
      ).length;
      rows.push({
        ...latencyRow({ backend, source, rig: nic ? RIG_NIC : RIG_VETH, load: 'SYN flood' }, flooded, floodTrials),
        'grant entries after': `${entries} (flooder opened ${floodRecords}×)`,
        duplicates,
      });
    }
    return { rows, breakdown };
  } finally {
    watcher.close();
    delete process.env['KNOCKTAIL_TRACE'];
    await live.destroy();
    await rm(scratch, { recursive: true, force: true });
  }
}

// knockd's door: 31600 runs an `iptables -I` ACCEPT for the knocker, 31601 deletes it (knockd runs commands through /bin/sh).
function knockdConfig(logFile: string): string {
  const rule = '-p tcp --dport 22 -j ACCEPT';
  return [
    '[options]',
    `    LogFile = ${logFile}`,
    '[open]',
    '    sequence = 31600:tcp',
    '    seq_timeout = 5',
    '    tcpflags = syn',
    `    command = /usr/sbin/iptables -I INPUT -s %IP% ${rule}`,
    '[close]',
    '    sequence = 31601:tcp',
    '    seq_timeout = 5',
    '    tcpflags = syn',
    `    command = /usr/sbin/iptables -D INPUT -s %IP% ${rule}`,
    '',
  ].join('\n');
}

async function measureKnockd(trials: number): Promise<Record<string, string | number> | undefined> {
  if (!existsSync(KNOCKD)) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'kt-knockd-'));
  const rig = await createRig('ktknockd');
  let knockd: ReturnType<Rig['spawn']> | undefined;
  try {
    for (const port of ['22', '31600', '31601']) {
      const result = await rig.exec(rig.server, [
        'iptables',
        '-w',
        '-A',
        'INPUT',
        '-p',
        'tcp',
        '--dport',
        port,
        '-j',
        'DROP',
      ]);
      if (result.exitCode !== 0) throw new Error(`iptables failed: ${result.stderr}`);
    }
    const stopListener = await rig.listen(rig.server, 22);
    const logFile = join(dir, 'knockd.log');
    await writeFile(join(dir, 'knockd.conf'), knockdConfig(logFile));
    knockd = rig.spawn(rig.server, [KNOCKD, '-i', 'ktfws', '-c', join(dir, 'knockd.conf')]);
    const deadline = Date.now() + 10_000;
    while (!(await readFile(logFile, 'utf8').catch(() => '')).includes('listening on')) {
      if (knockd.exitCode !== null || Date.now() > deadline) throw new Error('knockd did not start');
      await sleep(50);
    }
    const waitClosed = async (): Promise<boolean> => {
      for (let attempt = 0; attempt < 60; attempt += 1) {
        if (!(await rig.connect(rig.client, rig.serverV4, 22, 300))) return true;
        await sleep(50);
      }
      return false;
    };
    const results: KnockRace[] = [];
    for (let trial = 0; trial < trials; trial += 1) {
      await sleep(50 + Math.floor(Math.random() * 150));
      results.push(await knockRace(rig));
      await closeDoor(rig, waitClosed);
    }
    await stopListener();
    return latencyRow(
      { backend: 'knockd 0.8 (iptables -I via /bin/sh)', source: 'pcap', rig: RIG_VETH, load: 'idle' },
      results,
      trials,
    );
  } finally {
    if (knockd?.pid !== undefined && knockd.exitCode === null) {
      const exited = new Promise<void>((done) => knockd?.once('exit', () => done()));
      process.kill(knockd.pid, 'SIGTERM');
      await exited;
    }
    await rig.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

export const bench: BenchFunction = async ({ quick }) => {
  const trials = quick ? 10 : 50;
  const rows: Record<string, string | number>[] = [];
  const breakdown: Record<string, string | number>[] = [];
  const runs: readonly [Backend, Source, boolean, boolean][] = [
    ['iptables', 'rsyslog', true, false],
    ['ipset', 'rsyslog', true, false],
    ['nftables', 'rsyslog', true, false],
    ['ipset', 'kmsg', false, false],
    ['nftables', 'kmsg', false, false],
    ['ipset', 'nflog', false, false],
    ['nftables', 'nflog', false, false],
    ['ipset', 'rsyslog', false, true],
    ['nftables', 'rsyslog', false, true],
    ['ipset', 'kmsg', false, true],
    ['nftables', 'kmsg', false, true],
    ['ipset', 'nflog', false, true],
    ['nftables', 'nflog', false, true],
  ];
  // KNOCKTAIL_BENCH_LIVE=ipset:kmsg,nftables:rsyslog:nic picks runs (default: all of them).
  const pick = process.env['KNOCKTAIL_BENCH_LIVE']?.split(',');
  for (const [backend, source, flood, nic] of runs) {
    if (pick && !pick.includes(`${backend}:${source}${nic ? ':nic' : ''}`)) continue;
    if (nic && availableParallelism() < 2) continue;
    const measured = await measureKnocktail(backend, source, trials, flood, nic);
    rows.push(...measured.rows);
    breakdown.push(...measured.breakdown);
  }
  const knockd = pick && !pick.includes('knockd') ? undefined : await measureKnockd(trials);
  if (knockd) {
    rows.push(knockd);
    addMedianRatio(rows, knockd, 'knockd');
  }
  return {
    name: 'live latency (knock SYN sent → first SYN to 22 let through)',
    rows,
    tables: [
      {
        title:
          'where the time goes (median ms per stage, idle trials; CLOCK_MONOTONIC marks from the daemon and the bench)',
        rows: breakdown,
      },
    ],
    notes: [
      'targets: rsyslog median ≤ 5 ms, p95 ≤ 8 ms on ipset and nftables; kmsg median ≤ 2 ms; nflog (ulogd2) median ≤ 2 ms, p95 ≤ 4 ms; 20/20 legit opens under flood, zero duplicate rules',
      '"knock → rule in kernel": from the knock SYN to the firewall tool acknowledging the change (daemon trace, same clock); the prober figure is an upper bound of it',
      'rig "veth": the knock is received on the CPU that sent it, which is busy, so the kernel wakes log readers only at its next timer tick (0–4 ms at CONFIG_HZ=250); "NIC-like": received on the server\'s CPU, idle as a server\'s is when a packet comes in from its NIC (RPS on the rig\'s veth, hosts pinned with taskset)',
      `the client starts a new connect every ${POLL_MS} ms: the port opened within "prober step" before the figure (an upper bound); "connect done" is the handshake's end, the figure before`,
      'stage medians are taken separately, so they need not add up to the total median',
      knockd
        ? 'knockd: same namespaces shape, same trial; its door runs iptables -I / -D through /bin/sh'
        : 'knockd: not measured (not installed, or not picked in KNOCKTAIL_BENCH_LIVE)',
    ],
  };
};
