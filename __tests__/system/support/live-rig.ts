import { RAW_CLASSIC_DOOR } from '../../support/door.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderRsyslogDropin } from '../../../src/install/rsyslog-dropin.js';
import { builtCli, repoRoot } from './built-cli.js';
import {
  createRig,
  enableLogAllNetns,
  pinned,
  pollConnect,
  runArgv,
  type ExecResult,
  type Rig,
  type RigCpus,
} from './netns.js';
import { startRsyslog, type PrivateRsyslog } from './rsyslog.js';
import { sleep } from '../../support/helpers.js';
import { startUlogd } from './ulogd.js';

// The whole product in a box, for the end-to-end suite and the live-latency bench:
// client and server namespaces, a private rsyslogd with the shipped drop-in (or, for the
// "nflog" source, a private ulogd2 with the config install renders, and nf_log_all_netns left
// at 0), the built CLI running `knocktail run` inside the server namespace, and a listener on port 22.

/** The seed's door: one knock on 31600 opens 22 until a knock on 31601. */
export const CLASSIC_DOOR = RAW_CLASSIC_DOOR;

export interface LiveRigOptions {
  readonly backend: 'iptables' | 'ipset' | 'nftables';
  readonly doors: readonly Record<string, unknown>[];
  readonly limits?: Record<string, unknown>;
  /** Further top-level config keys (e.g. metrics). */
  readonly extra?: Record<string, unknown>;
  /** Runs on the fresh namespaces before `knocktail setup` (e.g. to enable the host's own firewall). */
  readonly prepare?: (rig: Rig) => Promise<void>;
  /** How to run the CLI (default: node and the build of `npm run build`), e.g. ['/usr/bin/knocktail'] from the .deb. */
  readonly command?: readonly string[];
  /**
   * Run every CLI command and the daemon as this user, holding only CAP_NET_ADMIN and CAP_NET_RAW
   * (as the unit's User= and AmbientCapabilities= do); the rig's files are given to the user.
   */
  readonly runAs?: string;
  /** Pin the hosts to CPUs and steer received packets to the server's (see RigCpus); the daemon runs on the server's CPU too. */
  readonly cpus?: RigCpus;
  /** "file" (default): kernel LOG → rsyslog → file; "nflog": NFLOG → ulogd2 → file. */
  readonly source?: 'file' | 'nflog';
}

/** setpriv's argv prefix that runs a command as `user` (its own groups) with the unit's two capabilities. */
export function asServiceUser(user: string): string[] {
  const caps = '-all,+net_admin,+net_raw';
  const { gid } = userIds(user);
  return [
    'setpriv',
    `--reuid=${user}`,
    `--regid=${gid}`,
    '--init-groups',
    `--inh-caps=${caps}`,
    `--ambient-caps=${caps}`,
    `--bounding-set=${caps}`,
  ];
}

export interface LiveRig {
  readonly rig: Rig;
  readonly dir: string;
  readonly prefix: string;
  readonly configPath: string;
  readonly logFile: string;
  readonly auditLog: string;
  readonly source: 'file' | 'nflog';
  /** The private rsyslogd (source "file" only). */
  readonly rsyslog: PrivateRsyslog | undefined;
  /** The process that writes the knock log: rsyslogd, or ulogd for "nflog". */
  readonly writer: { readonly pid: number };
  /** Runs the built CLI in a namespace (server by default). */
  cli(args: readonly string[], ns?: string): Promise<ExecResult>;
  startDaemon(): Promise<void>;
  /** SIGTERM (graceful) or SIGKILL (crash) the daemon and wait for it to end. */
  stopDaemon(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  daemonOutput(): string;
  /** The running daemon's PID (`ip netns exec` execs it), for /proc readings such as its RSS. */
  daemonPid(): number | undefined;
  /** Send a signal (e.g. SIGHUP) to the running daemon. */
  signalDaemon(signal: NodeJS.Signals): void;
  /** True once a new TCP connection from the client to the server's port succeeds (polls until `timeoutMs`). */
  waitOpen(host: string, port: number, timeoutMs: number): Promise<boolean>;
  /** True once a new TCP connection fails (polls until `timeoutMs`). */
  waitClosed(host: string, port: number, timeoutMs: number): Promise<boolean>;
  auditRecords(): Promise<Record<string, unknown>[]>;
  /** One SYN to `openPort`, wait for 22 to open, one SYN to 31601, wait for it to close (`timeoutMs` each at most). */
  knockOpenAndClose(host: string, openPort?: number, timeoutMs?: number): Promise<{ opened: boolean; closed: boolean }>;
  /** logrotate-style rename rotation of the knock log, then HUP its writer (rsyslog or ulogd) so it reopens. */
  rotateLog(): Promise<void>;
  destroy(): Promise<void>;
}

function userIds(user: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${user}:`));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw new Error(`no user ${user} in /etc/passwd`);
  return { uid: Number(uid), gid: Number(gid) };
}

export async function createLiveRig(options: LiveRigOptions): Promise<LiveRig> {
  const command = [
    ...(options.runAs === undefined ? [] : asServiceUser(options.runAs)),
    ...(options.command ?? ['node', builtCli()]),
  ];
  const dir = await mkdtemp(join(tmpdir(), 'kt-live-'));
  const prefix = `kt${randomBytes(4).toString('hex')}: `;
  const logFile = join(dir, 'knocks.log');
  const auditLog = join(dir, 'audit.log');
  const configPath = join(dir, 'config.json');
  const cleanups: (() => Promise<unknown>)[] = [async () => rm(dir, { recursive: true, force: true })];
  let daemon: ChildProcess | undefined;
  let output = '';
  const source = options.source ?? 'file';
  // NFLOG needs no printk from the namespaces: nf_log_all_netns stays as it is (0).
  if (source === 'file') cleanups.push(await enableLogAllNetns());
  const destroy = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    cleanups.length = 0;
  };
  try {
    const rig = await createRig('ktlive', options.cpus ? { cpus: options.cpus } : {});
    cleanups.push(() => rig.destroy());
    await options.prepare?.(rig);
    const template = await readFile(join(repoRoot, 'rsyslog', '30-knocktail.conf'), 'utf8');
    if (options.runAs !== undefined) {
      // The user owns the rig's directory and its state. rsyslog creates the knock log
      // root:<the user's group> 0640, as it creates root:knocktail on a server.
      const { uid, gid } = userIds(options.runAs);
      await mkdir(join(dir, 'state'), { mode: 0o700 });
      for (const path of [dir, join(dir, 'state')]) await chown(path, uid, gid);
    }
    const group = options.runAs === undefined ? 'root' : (await runArgv(['id', '-gn', options.runAs])).stdout.trim();
    const nflogGroup = 1000 + randomInt(60_000);
    const rsyslog =
      source === 'file'
        ? await startRsyslog(join(dir, 'rsyslog'), renderRsyslogDropin(template, { prefix, logFile, group }))
        : undefined;
    const ulogd =
      source === 'nflog' ? await startUlogd(join(dir, 'ulogd'), rig.server, { group: nflogGroup, logFile }) : undefined;
    const writer = (rsyslog ?? ulogd)!;
    cleanups.push(() => writer.stop());
    await writeFile(
      configPath,
      JSON.stringify({
        logFile,
        logPrefix: prefix,
        stateDir: join(dir, 'state'),
        auditLog,
        ...(source === 'nflog' ? { source, nflog: { group: nflogGroup } } : {}),
        firewall: { backend: options.backend, checkInterval: 5 },
        ...(options.limits ? { limits: options.limits } : {}),
        ...options.extra,
        doors: options.doors,
      }),
    );
    const cli = (args: readonly string[], ns = rig.server): Promise<ExecResult> => rig.exec(ns, [...command, ...args]);
    const setup = await cli(['setup', '--config', configPath]);
    if (setup.exitCode !== 0) throw new Error(`knocktail setup failed: ${setup.stderr}`);
    cleanups.push(() => cli(['teardown', '--config', configPath]));
    const stopListener = await rig.listen(rig.server, 22);
    cleanups.push(stopListener);

    const stopDaemon = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> => {
      const child = daemon;
      daemon = undefined;
      if (!child || child.exitCode !== null || child.pid === undefined) return;
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      process.kill(child.pid, signal);
      const timer = setTimeout(
        () => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'),
        5000,
      );
      await exited;
      clearTimeout(timer);
    };
    cleanups.push(() => stopDaemon('SIGTERM'));

    const connectLoop = (host: string, port: number, want: boolean, timeoutMs: number): Promise<boolean> =>
      pollConnect(rig, rig.client, host, port, want, timeoutMs, 200);

    return {
      rig,
      dir,
      prefix,
      configPath,
      logFile,
      auditLog,
      source,
      rsyslog,
      writer,
      cli,
      async startDaemon() {
        const socket = join(dir, 'state', 'control.sock');
        await rm(socket, { force: true });
        // `ip netns exec` (and taskset) exec the command, so the child's PID is the daemon's own.
        const argv = pinned(options.cpus?.server, [
          'ip',
          'netns',
          'exec',
          rig.server,
          ...command,
          'run',
          '--config',
          configPath,
        ]);
        const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        daemon = child;
        const deadline = Date.now() + 15_000;
        while (!existsSync(socket)) {
          if (child.exitCode !== null || Date.now() > deadline) throw new Error(`daemon did not start:\n${output}`);
          await sleep(50);
        }
      },
      stopDaemon,
      daemonOutput: () => output,
      daemonPid: () => (daemon?.exitCode === null ? daemon.pid : undefined),
      signalDaemon(signal) {
        if (daemon?.pid !== undefined && daemon.exitCode === null) process.kill(daemon.pid, signal);
      },
      waitOpen: (host, port, timeoutMs) => connectLoop(host, port, true, timeoutMs),
      waitClosed: (host, port, timeoutMs) => connectLoop(host, port, false, timeoutMs),
      async auditRecords() {
        const text = await readFile(auditLog, 'utf8').catch(() => '');
        return text
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => JSON.parse(line) as Record<string, unknown>);
      },
      async knockOpenAndClose(host, openPort = 31600, timeoutMs = 5000) {
        await rig.connect(rig.client, host, openPort, 200);
        const opened = await connectLoop(host, 22, true, timeoutMs);
        await rig.connect(rig.client, host, 31601, 200);
        const closed = await connectLoop(host, 22, false, timeoutMs);
        return { opened, closed };
      },
      async rotateLog() {
        await rename(logFile, `${logFile}.1`);
        process.kill(writer.pid, 'SIGHUP');
      },
      destroy,
    };
  } catch (error) {
    await destroy();
    throw error;
  }
}
