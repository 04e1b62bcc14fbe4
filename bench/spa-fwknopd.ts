// Debian's fwknopd 2.6.10 in the SPA bench's rig: the same namespaces, the same packets (our
// client), its own fwknopd.conf, access.conf, run dir and digest cache, 22 refused by a plain
// REJECT after fwknopd's FWKNOP_INPUT jump, its rules flushed between trials; stopped by PID.
// Two ways packets reach it: UDP-server mode (-U: a socket and select(), woken at once) and pcap
// mode (libpcap on the server's interface, polled: pcap_dispatch() non-blocking, then
// usleep(PCAP_LOOP_SLEEP); server/pcap_capture.c).
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRig } from '../__tests__/system/support/netns.js';
import { latencyFields, raceSpa, SPA_PORT, type SpaRace } from './spa-race.js';

export interface FwknopdMode {
  /** The row's name. */
  readonly label: string;
  /** fwknopd.conf lines besides PCAP_INTF and FWKNOP_RUN_DIR. */
  readonly conf: readonly string[];
  /** Extra command-line flags (-U for the UDP server). */
  readonly flags: readonly string[];
  /** The log line that says it is ready to take packets. */
  readonly ready: string;
}

// PCAP_FILTER: only what is sent to the SPA port (the default "udp port 62201" also matches replies).
// PCAP_DISPATCH_COUNT: fwknopd's default (100 packets per pcap_dispatch call): one packet per trial, so it does not matter here.
// PCAP_LOOP_SLEEP: the default 100 ms as shipped, and 1 ms, the lowest that still sleeps between polls;
// RULES_CHECK_THRESHOLD (an `iptables -L` of its chains every N loops) scaled with it to keep its 2 s cadence.
const PCAP = [`PCAP_FILTER udp dst port ${SPA_PORT};`, 'PCAP_DISPATCH_COUNT 100;'];

export const FWKNOPD_MODES: readonly FwknopdMode[] = [
  {
    label: 'fwknopd 2.6.10, UDP server (-U), iptables',
    conf: ['ENABLE_UDP_SERVER Y;', `UDPSERV_PORT ${SPA_PORT};`],
    flags: ['-U'],
    ready: 'Kicking off UDP server',
  },
  {
    label: 'fwknopd 2.6.10, pcap, PCAP_LOOP_SLEEP 100 ms (default), iptables',
    conf: [...PCAP, 'PCAP_LOOP_SLEEP 100000;', 'RULES_CHECK_THRESHOLD 20;'],
    flags: [],
    ready: 'Starting fwknopd main event loop',
  },
  {
    label: 'fwknopd 2.6.10, pcap, PCAP_LOOP_SLEEP 1 ms, iptables',
    conf: [...PCAP, 'PCAP_LOOP_SLEEP 1000;', 'RULES_CHECK_THRESHOLD 2000;'],
    flags: [],
    ready: 'Starting fwknopd main event loop',
  },
];

/** Whether Debian's fwknopd is installed. */
export function hasFwknopd(): boolean {
  return spawnSync('sh', ['-c', 'command -v fwknopd']).status === 0;
}

/** SPA→open trials against fwknopd in `mode`; `seal(address)` builds each packet. */
export async function measureFwknopd(
  mode: FwknopdMode,
  keys: { key: string; hmacKey: string },
  seal: (address: string) => Buffer,
  trials: number,
): Promise<Record<string, string | number>> {
  const rig = await createRig('ktfwkb');
  const dir = await mkdtemp(join(tmpdir(), 'kt-fwknopd-bench-'));
  let output = '';
  await writeFile(
    join(dir, 'access.conf'),
    `SOURCE ANY\nOPEN_PORTS tcp/22\nKEY_BASE64 ${keys.key}\nHMAC_KEY_BASE64 ${keys.hmacKey}\nFW_ACCESS_TIMEOUT 3600\n`,
    { mode: 0o600 },
  );
  // ktfws: the rig's server-side interface (netns.ts).
  await writeFile(
    join(dir, 'fwknopd.conf'),
    ['PCAP_INTF ktfws;', `FWKNOP_RUN_DIR ${dir};`, ...mode.conf, ''].join('\n'),
    { mode: 0o600 },
  );
  await rig.exec(rig.server, 'iptables -A INPUT -p tcp --dport 22 -j REJECT --reject-with tcp-reset'.split(' '));
  const fwknopd = rig.spawn(rig.server, [
    'fwknopd',
    '-f',
    ...mode.flags,
    '-c',
    join(dir, 'fwknopd.conf'),
    '-a',
    join(dir, 'access.conf'),
    '-p',
    join(dir, 'fwknopd.pid'),
    '-d',
    join(dir, 'digest.cache'),
    '-r',
    dir,
  ]);
  fwknopd.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  fwknopd.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    const stopListener = await rig.listen(rig.server, 22);
    for (let tries = 0; tries < 50 && !output.includes(mode.ready); tries++)
      await new Promise((done) => setTimeout(done, 100));
    if (!output.includes(mode.ready)) throw new Error(`fwknopd did not start (${mode.label}): ${output.slice(-2000)}`);
    const load = loadavg()[0] ?? 0;
    const races: SpaRace[] = [];
    for (let trial = 0; trial < trials; trial += 1) {
      races.push(await raceSpa(rig, seal(rig.clientV4)));
      await rig.exec(rig.server, ['iptables', '-F', 'FWKNOP_INPUT']);
    }
    await stopListener();
    return { backend: mode.label, 'load 1m': Number(load.toFixed(2)), ...latencyFields(races) };
  } finally {
    if (fwknopd.pid !== undefined && fwknopd.exitCode === null) {
      const exited = new Promise<void>((done) => fwknopd.once('exit', () => done()));
      process.kill(fwknopd.pid, 'SIGTERM');
      await exited;
    }
    await rig.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}
