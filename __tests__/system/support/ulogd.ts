import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findUlogdPluginDir } from '../../../src/host/ulogd-plugins.js';
import { stoppable } from './child-stop.js';
import { renderUlogdConfig } from '../../../src/install/ulogd-files.js';

// A private ulogd2 for one test, with the config `knocktail install` renders for the "nflog"
// source: run in the server namespace (NFLOG is delivered in the packet's own namespace),
// TZ=UTC as knocktail's unit runs it, with its own config and pid; stopped by PID. Never the
// host's ulogd2 service.
export interface PrivateUlogd {
  readonly pid: number;
  /** What ulogd printed (its own log goes to stdout). */
  output(): string;
  stop(): Promise<void>;
}

/** Starts ulogd on NFLOG `group` in namespace `ns`, writing `logFile`; resolves once it listens. */
export async function startUlogd(
  dir: string,
  ns: string,
  options: { group: number; logFile: string },
  timeoutMs = 10_000,
): Promise<PrivateUlogd> {
  const pluginDir = await findUlogdPluginDir();
  if (pluginDir === undefined) throw new Error('ulogd2 plugins (ulogd_inppkt_NFLOG.so) not found below /usr/lib');
  await mkdir(dir, { recursive: true });
  const conf = join(dir, 'ulogd.conf');
  await writeFile(conf, renderUlogdConfig({ ...options, pluginDir }));
  // `ip netns exec` execs ulogd: the child's PID is ulogd's own.
  const child: ChildProcess = spawn('ip', ['netns', 'exec', ns, 'ulogd', '-c', conf, '-p', join(dir, 'ulogd.pid')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TZ: 'UTC' },
  });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const { alive, stop } = stoppable(child);
  const deadline = Date.now() + timeoutMs;
  while (!text.includes('initialization finished')) {
    if (!alive() || Date.now() > deadline) {
      await stop();
      throw new Error(`private ulogd did not start: ${text.trim() || 'no output'}`);
    }
    await new Promise((done) => setTimeout(done, 25));
  }
  return { pid: child.pid!, output: () => text, stop };
}
