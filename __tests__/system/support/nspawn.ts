import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sleep } from '../../support/helpers.js';
import { repoRoot } from './built-cli.js';
import { runArgv, type ExecResult } from './netns.js';

// A booted Debian 13 (systemd as PID 1) in systemd-nspawn, for the test that installs the .deb
// as an admin would. The image (debootstrap minbase, trixie-image.sh) is built once into
// IMAGE and unpacked fresh for every run. nspawn runs in a network namespace of the test's
// own (entered with nsenter, which keeps this machine's /sys and its cgroup mounts, where
// `ip netns exec` would remount /sys without them); the host end of its veth gets HOST_ADDRESS.
// Commands run inside through nsenter into the container's PID 1.

const IMAGE_SCRIPT = join(repoRoot, '__tests__', 'system', 'support', 'trixie-image.sh');
/** Named after the script that builds it: a changed package list builds a new image. */
export const IMAGE =
  process.env['KNOCKTAIL_TRIXIE_IMAGE'] ??
  `/var/cache/knocktail-test/trixie-${createHash('sha256').update(readFileSync(IMAGE_SCRIPT)).digest('hex').slice(0, 12)}.tar`;
export const CONTAINER_ADDRESS = '203.0.113.2';
export const HOST_ADDRESS = '203.0.113.1';
const IMAGE_LOCK = '/var/cache/knocktail-test.lock';

/** The Debian mirror this machine's apt uses (deb822 `URIs:` or a one-line `deb` entry), else deb.debian.org. */
export function aptMirror(): string {
  const files = [
    '/etc/apt/sources.list',
    ...(existsSync('/etc/apt/sources.list.d')
      ? readdirSync('/etc/apt/sources.list.d').map((name) => join('/etc/apt/sources.list.d', name))
      : []),
  ];
  for (const file of files) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    for (const match of text.matchAll(/^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+)/gm)) {
      const uri = match[1]!;
      if (/^https?:\/\/.*\/debian\/?$/.test(uri)) return uri.replace(/\/$/, '');
    }
  }
  return 'http://deb.debian.org/debian';
}

/** Builds the image when it is not there yet (minutes; once per machine or CI run), under a lock. */
export async function ensureImage(): Promise<void> {
  if (existsSync(IMAGE)) return;
  await mkdir('/var/cache/knocktail-test', { recursive: true });
  const built = await runArgv(['flock', IMAGE_LOCK, IMAGE_SCRIPT, IMAGE, aptMirror()], { timeoutMs: 20 * 60_000 });
  if (built.exitCode !== 0) throw new Error(`building the Debian 13 image failed:\n${built.stdout}${built.stderr}`);
}

export interface Container {
  readonly root: string;
  readonly netns: string;
  /** The nspawn process (SIGTERM stops the container). */
  readonly nspawnPid: number;
  /** Runs argv inside the container as root, with a clean environment. */
  exec(argv: readonly string[], timeoutMs?: number): Promise<ExecResult>;
  /** Runs argv in the test's namespace, the container's "host" side. */
  hostExec(argv: readonly string[], timeoutMs?: number): Promise<ExecResult>;
  console(): string;
  /** SIGTERM to nspawn, then wait for it (SIGKILL after 60 s); removes the namespace and the tree. */
  destroy(): Promise<void>;
}

function childrenOf(pid: number): number[] {
  const dir = `/proc/${pid}/task`;
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((task) =>
    readFileSync(`${dir}/${task}/children`, 'utf8')
      .split(/\s+/)
      .filter((text) => text !== '')
      .map(Number),
  );
}

/** Unpacks a fresh copy of the image, boots it, and waits until systemd says the system is up. */
export async function bootContainer(): Promise<Container> {
  const id = randomBytes(4).toString('hex');
  const machine = `kt${id}`;
  const netns = `ktboot${id}`;
  const root = await mkdtemp('/var/tmp/kt-trixie-');
  let child: ChildProcess | undefined;
  let output = '';
  let init = 0;
  const destroy = async (): Promise<void> => {
    if (child?.pid !== undefined && child.exitCode === null) {
      const exited = new Promise<void>((done) => child!.once('exit', () => done()));
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(
        () => child?.exitCode === null && child.pid !== undefined && process.kill(child.pid, 'SIGKILL'),
        60_000,
      );
      await exited;
      clearTimeout(timer);
    }
    await runArgv(['ip', 'netns', 'del', netns]);
    await rm(root, { recursive: true, force: true });
  };
  const exec = (argv: readonly string[], timeoutMs = 120_000): Promise<ExecResult> =>
    runArgv(
      [
        'nsenter',
        '-t',
        String(init),
        '-m',
        '-u',
        '-i',
        '-n',
        '-p',
        '--',
        'env',
        '-i',
        'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
        'LANG=C.UTF-8',
        'TERM=dumb',
        ...argv,
      ],
      { timeoutMs },
    );
  try {
    const unpacked = await runArgv(['tar', '-C', root, '-xf', IMAGE], { timeoutMs: 300_000 });
    if (unpacked.exitCode !== 0) throw new Error(`unpacking ${IMAGE}: ${unpacked.stderr}`);
    // The image's 80-container-host0.network would wait for DHCP; 10- sorts first.
    await mkdir(join(root, 'etc/systemd/network'), { recursive: true });
    await writeFile(
      join(root, 'etc/systemd/network/10-host0.network'),
      `[Match]\nName=host0\n\n[Network]\nAddress=${CONTAINER_ADDRESS}/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n`,
    );
    await writeFile(join(root, 'etc/hostname'), `${machine}\n`);
    for (const argv of [
      ['ip', 'netns', 'add', netns],
      ['ip', '-n', netns, 'link', 'set', 'lo', 'up'],
    ]) {
      const result = await runArgv(argv);
      if (result.exitCode !== 0) throw new Error(`${argv.join(' ')}: ${result.stderr}`);
    }
    // This machine's PID 1 is not systemd: nspawn gives the container a cgroup2 hierarchy of its own.
    child = spawn(
      'nsenter',
      [
        `--net=/run/netns/${netns}`,
        'systemd-nspawn',
        '-D',
        root,
        '-b',
        '--network-veth',
        '--register=no',
        '--keep-unit',
        '-M',
        machine,
        '--console=read-only',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: '1' },
      },
    );
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 60_000;
    while (init === 0) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`systemd-nspawn did not start the container:\n${output}`);
      init = childrenOf(child.pid!).find((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'systemd') ?? 0;
      if (init === 0) await sleep(100);
    }
    // systemctl answers once PID 1 has its socket; --wait then waits for the boot to finish.
    for (;;) {
      const state = (await exec(['systemctl', 'is-system-running', '--wait'], 90_000)).stdout;
      if (/^(running|degraded)$/m.test(state)) break;
      if (Date.now() > deadline + 60_000)
        throw new Error(`the container did not finish booting (${state.trim()}):\n${output}`);
      await sleep(200);
    }
    const veth = `ve-${machine}`;
    for (const argv of [
      ['ip', '-n', netns, 'addr', 'add', `${HOST_ADDRESS}/24`, 'dev', veth],
      ['ip', '-n', netns, 'link', 'set', veth, 'up'],
    ]) {
      const result = await runArgv(argv);
      if (result.exitCode !== 0) throw new Error(`${argv.join(' ')}: ${result.stderr}`);
    }
  } catch (error) {
    await destroy();
    throw error;
  }
  return {
    root,
    netns,
    nspawnPid: child.pid!,
    exec,
    hostExec: (argv, timeoutMs = 60_000) => runArgv(['ip', 'netns', 'exec', netns, ...argv], { timeoutMs }),
    console: () => output,
    destroy,
  };
}

/** Reads a file of the container's tree. */
export function readInContainer(container: Container, path: string): Promise<string> {
  return readFile(join(container.root, path), 'utf8');
}
