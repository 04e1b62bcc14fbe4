import { execa } from 'execa';
import { KnocktailError } from '../model/errors.js';
import type { CommandResult, CommandRunner } from './backend.js';
import type { ByteStream, InteractiveProcess, ProcessStarter, StreamStarter } from './interactive-process.js';

// The one place that starts firewall programs: argv arrays only, never a shell.
// A non-zero exit is an answer (`iptables -C`), so it is returned; a missing binary is not.

// Debian package that ships each binary knocktail may run.
const PACKAGES: Record<string, string> = {
  iptables: 'iptables',
  ip6tables: 'iptables',
  'iptables-save': 'iptables',
  'ip6tables-save': 'iptables',
  'iptables-restore': 'iptables',
  'ip6tables-restore': 'iptables',
  ipset: 'ipset',
  nft: 'nftables',
  ip: 'iproute2',
  flock: 'util-linux',
  tcpdump: 'tcpdump',
};

export function missingBinaryError(binary: string, cause?: unknown): KnocktailError {
  const pkg = PACKAGES[binary];
  const hint = pkg ? `install the Debian package \`${pkg}\` (apt-get install ${pkg})` : 'install it or fix PATH';
  return new KnocktailError(
    'BINARY_MISSING',
    `Expected the program \`${binary}\` on PATH, but it was not found; ${hint}`,
    { cause },
  );
}

// execa types captured output as string, but a process that failed to spawn (EACCES, ENOTDIR…) leaves it undefined.
function capturedText(output: string | undefined): string {
  return output ?? '';
}

export interface ExecaRunnerOptions {
  /** Run every command inside this network namespace (`ip netns exec NS …`), for tests. */
  readonly netns?: string;
  /** Kill a command that hangs longer than this (default 30 s). */
  readonly timeoutMs?: number;
  /** Extra environment (e.g. a PATH with a wrapper first, in fault tests). */
  readonly env?: Readonly<Record<string, string>>;
}

export class ExecaRunner implements CommandRunner, ProcessStarter, StreamStarter {
  private readonly options: ExecaRunnerOptions;

  constructor(options: ExecaRunnerOptions = {}) {
    this.options = options;
  }

  async run(argv: readonly string[], options: { input?: string } = {}): Promise<CommandResult> {
    const binary = argv[0];
    if (binary === undefined) throw new KnocktailError('USAGE', 'Expected a command to run, got an empty argv');
    const full = this.options.netns === undefined ? [...argv] : ['ip', 'netns', 'exec', this.options.netns, ...argv];
    const result = await execa(full[0]!, full.slice(1), {
      reject: false,
      shell: false,
      input: options.input ?? '',
      timeout: this.options.timeoutMs ?? 30_000,
      env: { ...this.options.env, LC_ALL: 'C' },
      stripFinalNewline: false,
    });
    const cause = result.cause as NodeJS.ErrnoException | undefined;
    if (cause?.code === 'ENOENT') throw missingBinaryError(full[0]!, cause);
    const stderr = capturedText(result.stderr);
    // `ip netns exec` reports a missing inner program itself instead of failing to spawn.
    if (this.options.netns !== undefined && /exec of ".*" failed: No such file or directory/.test(stderr)) {
      throw missingBinaryError(binary);
    }
    return { exitCode: result.exitCode ?? 1, stdout: capturedText(result.stdout), stderr };
  }

  /** Starts a long-lived reader (the SPA capture, `tcpdump -w -`): binary stdout, stdin closed. */
  stream(argv: readonly string[]): ByteStream {
    const full = this.options.netns === undefined ? [...argv] : ['ip', 'netns', 'exec', this.options.netns, ...argv];
    const child = execa(full[0]!, full.slice(1), {
      reject: false,
      shell: false,
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      encoding: 'buffer',
      env: { ...this.options.env, LC_ALL: 'C' },
    });
    const exited = child.then(
      (result) =>
        (result.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
          ? missingBinaryError(full[0]!).message
          : `exit ${result.exitCode ?? result.signal ?? '?'}`,
      (error: unknown) => String(error),
    );
    return {
      onData: (fn) => void child.stdout.on('data', (chunk: Buffer) => fn(chunk)),
      onStderr: (fn) => void child.stderr.on('data', (chunk: Buffer) => fn(chunk.toString('utf8'))),
      onExit: (fn) => void exited.then(fn),
      kill: () => void child.kill('SIGTERM'),
    };
  }

  /** Starts a long-lived process (e.g. `nft -i`) with stdin, stdout and stderr piped (stdout is drained when nobody listens). */
  start(argv: readonly string[]): InteractiveProcess {
    const full = this.options.netns === undefined ? [...argv] : ['ip', 'netns', 'exec', this.options.netns, ...argv];
    const child = execa(full[0]!, full.slice(1), {
      reject: false,
      shell: false,
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      env: { ...this.options.env, LC_ALL: 'C' },
    });
    child.stderr.setEncoding('utf8');
    child.stdout.setEncoding('utf8');
    const stdoutListeners: ((chunk: string) => void)[] = [];
    child.stdout.on('data', (chunk: string) => stdoutListeners.forEach((fn) => fn(chunk)));
    child.stdin.on('error', () => undefined);
    const exited = child.then(
      () => undefined,
      () => undefined,
    );
    const handles = [child, child.stdin, child.stderr, child.stdout] as { ref?: () => void; unref?: () => void }[];
    return {
      write: (text) => void child.stdin.write(text),
      onStderr: (fn) => void child.stderr.on('data', (chunk: string) => fn(chunk)),
      onStdout: (fn) => void stdoutListeners.push(fn),
      onExit: (fn) => void exited.then(fn),
      kill: () => void child.kill('SIGKILL'),
      ref: () => handles.forEach((handle) => handle.ref?.()),
      unref: () => handles.forEach((handle) => handle.unref?.()),
    };
  }
}
