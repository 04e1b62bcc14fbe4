import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, copyFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runArgv } from './netns.js';
import type { ExecResult } from './netns.js';

// A real Docker (Debian's docker.io) inside a test network namespace: containerd and dockerd
// started with `nsenter --net=/run/netns/NS` (not `ip netns exec`, which remounts /sys and
// hides the cgroups: dockerd then refuses with "Devices cgroup isn't mounted"), each with its
// own root, state, sockets and pidfile under one temp dir, vfs storage, the bridge on a
// documentation range. Its iptables rules land in the namespace only. Images come from
// busybox-static (`docker import` of /bin/busybox and its applet links): no registry.
export interface DockerInNetns {
  /** The docker CLI against this daemon; never rejects on a non-zero exit. */
  cli(args: readonly string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  /** Stops dockerd (SIGTERM, by PID) and starts it again with the same flags. */
  restart(): Promise<void>;
  /** Removes every container, stops dockerd and containerd by PID, deletes the temp dir. */
  stop(): Promise<void>;
}

export const BUSYBOX_IMAGE = 'knocktail-busybox:test';
const APPLETS = ['sh', 'httpd', 'nc', 'sleep', 'cat'];

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Ends a process we started: SIGTERM, then SIGKILL after `graceMs`. */
async function stopChild(child: ChildProcess | undefined, graceMs: number): Promise<void> {
  if (!child || child.pid === undefined) return;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (!(await waitExit(child, graceMs))) {
    child.kill('SIGKILL');
    await waitExit(child, 2000);
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; attempt < 200; attempt++) {
    if (await check()) return;
    if (Date.now() > deadline) break;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** containerd and dockerd in `netns`, with IPv6 (--ip6tables) on 2001:db8:3::/64 and the bridge on 203.0.113.0/24. */
export async function startDocker(netns: string): Promise<DockerInNetns> {
  const dir = await mkdtemp(join(tmpdir(), 'knocktail-docker-'));
  const nsenter = ['nsenter', `--net=/run/netns/${netns}`];
  const containerdSock = join(dir, 'containerd.sock');
  const dockerSock = join(dir, 'docker.sock');
  const cliBase = ['docker', '-H', `unix://${dockerSock}`, '--config', join(dir, 'cli')];
  await writeFile(join(dir, 'containerd.toml'), 'version = 2\n');
  await writeFile(join(dir, 'daemon.json'), '{}\n');
  let containerd: ChildProcess | undefined;
  let dockerd: ChildProcess | undefined;

  const startContainerd = async (): Promise<void> => {
    const argv = [
      ...nsenter,
      'containerd',
      '--config',
      join(dir, 'containerd.toml'),
      '--root',
      join(dir, 'containerd-root'),
      '--state',
      join(dir, 'containerd-state'),
      '--address',
      containerdSock,
    ];
    containerd = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
    await until('containerd', async () => (await runArgv(['test', '-S', containerdSock])).exitCode === 0, 15_000);
  };
  const startDockerd = async (): Promise<void> => {
    const argv = [
      ...nsenter,
      'dockerd',
      '--containerd', containerdSock,
      '--data-root', join(dir, 'data'),
      '--exec-root', join(dir, 'exec'),
      '--host', `unix://${dockerSock}`,
      '--pidfile', join(dir, 'docker.pid'),
      '--config-file', join(dir, 'daemon.json'),
      '--storage-driver', 'vfs',
      '--bip', '203.0.113.1/24',
      '--experimental', '--ipv6', '--ip6tables', '--fixed-cidr-v6', '2001:db8:3::/64',
      '--exec-opt', 'native.cgroupdriver=cgroupfs',
    ]; // prettier-ignore
    dockerd = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
    await until(
      'dockerd',
      async () => (await runArgv([...cliBase, 'version'], { timeoutMs: 5000 })).exitCode === 0,
      30_000,
    );
  };
  const cli = (args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<ExecResult> =>
    runArgv([...cliBase, ...args], { timeoutMs: opts.timeoutMs ?? 60_000 });

  const stop = async (): Promise<void> => {
    if (dockerd && dockerd.exitCode === null)
      await cli(['rm', '-f', '-v', ...(await cli(['ps', '-aq'])).stdout.split('\n').filter(Boolean)], {
        timeoutMs: 30_000,
      });
    await stopChild(dockerd, 15_000);
    await stopChild(containerd, 10_000);
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  };

  try {
    await startContainerd();
    await startDockerd();
    const root = join(dir, 'rootfs');
    await mkdir(join(root, 'bin'), { recursive: true });
    await mkdir(join(root, 'www'), { recursive: true });
    await copyFile('/bin/busybox', join(root, 'bin', 'busybox'));
    for (const applet of APPLETS) await symlink('busybox', join(root, 'bin', applet));
    await writeFile(join(root, 'www', 'index.html'), 'knocktail\n');
    const tar = await runArgv(['tar', '-C', root, '-cf', join(dir, 'rootfs.tar'), '.']);
    if (tar.exitCode !== 0) throw new Error(`tar failed: ${tar.stderr}`);
    const imported = await cli(['import', join(dir, 'rootfs.tar'), BUSYBOX_IMAGE]);
    if (imported.exitCode !== 0) throw new Error(`docker import failed: ${imported.stderr}`);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    cli,
    async restart() {
      await stopChild(dockerd, 20_000);
      await startDockerd();
    },
    stop,
  };
}

/**
 * `docker run -d` of the test's web container: busybox httpd on 80, published as 8080 (the
 * protected port of the Docker tests); `restart: always` survives a dockerd restart.
 */
export async function runPublishedWeb(docker: DockerInNetns, options: { restart?: 'always' } = {}): Promise<void> {
  const restart = options.restart ? ['--restart', options.restart] : [];
  const argv = ['run', '-d', '--name', 'web', ...restart, '--stop-timeout', '1', '-p', '8080:80', BUSYBOX_IMAGE];
  const run = await docker.cli([...argv, '/bin/httpd', '-f', '-p', '80', '-h', '/www']);
  if (run.exitCode !== 0) throw new Error(`docker run failed: ${run.stderr}`);
}
