import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { stoppable } from './child-stop.js';
import { createRig, enableLogAllNetns, type Rig } from './netns.js';

// A private rsyslogd for one test: its own config, pid file, work directory and /dev/log
// stand-in socket. It reads the kernel log through imkmsg (/dev/kmsg: every reader gets its
// own copy, unlike imklog's /proc/kmsg, which would steal lines from other tests), and it
// replays the ring buffer at start, so tests filter on a prefix unique to their run.

export interface PrivateRsyslog {
  readonly dir: string;
  /** The imuxsock socket, for `logger -u`. */
  readonly socket: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** The config head every private instance uses; `rules` follow it. */
export function privateRsyslogConf(dir: string, rules: string): string {
  return [
    `global(workDirectory="${dir}/work")`,
    'module(load="imkmsg")',
    'module(load="imuxsock" SysSock.Use="off")',
    `input(type="imuxsock" Socket="${dir}/log.sock" RateLimit.Interval="0")`,
    rules,
    '',
  ].join('\n');
}

/** Starts `rsyslogd -n` on `dir/rsyslog.conf` and waits (bounded) for its socket. */
export async function startRsyslog(dir: string, rules: string, timeoutMs = 10_000): Promise<PrivateRsyslog> {
  await mkdir(join(dir, 'work'), { recursive: true });
  const conf = join(dir, 'rsyslog.conf');
  await writeFile(conf, privateRsyslogConf(dir, rules));
  const child: ChildProcess = spawn('rsyslogd', ['-n', '-f', conf, '-i', join(dir, 'rsyslog.pid')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const { alive, stop } = stoppable(child);
  const socket = join(dir, 'log.sock');
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(socket)) {
    if (!alive() || Date.now() > deadline) {
      await stop();
      throw new Error(`private rsyslogd did not start: ${stderr.trim() || 'no socket'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { dir, socket, pid: child.pid!, stop };
}

/** Lines of `path` (none when it does not exist yet). */
export async function readLines(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line !== '');
}

/** Polls `path` until `enough(lines)` holds or the time is up; returns the lines either way. */
export async function waitForLines(
  path: string,
  enough: (lines: string[]) => boolean,
  timeoutMs = 10_000,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = await readLines(path);
    if (enough(lines) || Date.now() > deadline) return lines;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** LOG (with `prefix`) and DROP rules in INPUT of `ns` for each match, v4 and v6, plus ICMP echo requests. */
export async function logAndDrop(rig: Rig, prefix: string, portMatches: readonly (readonly string[])[]): Promise<void> {
  for (const [tool, icmp] of [
    ['iptables', ['-p', 'icmp', '--icmp-type', 'echo-request']],
    ['ip6tables', ['-p', 'ipv6-icmp', '--icmpv6-type', 'echo-request']],
  ] as const) {
    for (const match of [...portMatches, icmp]) {
      for (const target of [['LOG', '--log-prefix', prefix], ['DROP']]) {
        const result = await rig.exec(rig.server, [tool, '-w', '-A', 'INPUT', ...match, '-j', ...target]);
        if (result.exitCode !== 0) throw new Error(`${tool} failed: ${result.stderr}`);
      }
    }
  }
}

/** A private rsyslogd with `rules`, kernel LOG from namespaces enabled, and a rig whose server LOGs and DROPs `portMatches`. */
export interface LoggingRig {
  readonly rsyslog: PrivateRsyslog;
  readonly rig: Rig;
  /** Undo all of it, whatever was set up; safe to call twice. */
  stop(): Promise<void>;
}

export async function startLoggingRig(
  dir: string,
  rules: string,
  prefix: string,
  portMatches: readonly (readonly string[])[],
): Promise<LoggingRig> {
  const undo: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const step of undo.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    const rsyslog = await startRsyslog(dir, rules);
    undo.push(() => rsyslog.stop());
    undo.push(await enableLogAllNetns());
    const rig = await createRig('ktdep');
    undo.push(() => rig.destroy());
    await logAndDrop(rig, prefix, portMatches);
    return { rsyslog, rig, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
