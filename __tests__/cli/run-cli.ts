import { PassThrough, Readable } from 'node:stream';
import type { CliContext } from '../../src/cli/context.js';
import type { HostProbes } from '../../src/cli/host-probes.js';
import { runCli } from '../../src/cli/program.js';

/** A host with nothing listening, Linux's default ephemeral range, no firewall look, and a fixed random source. */
export const QUIET_HOST: HostProbes = {
  ports: { read: () => Promise.resolve({ listening: [], ephemeral: [32768, 60999] }) },
  firewall: () => Promise.resolve({ checked: false, reason: 'not looked at in unit tests' }),
  randomInt: (bound) => 4242 % bound,
  // conntrack (status) lists nothing.
  runner: { run: () => Promise.resolve({ exitCode: 0, stdout: '', stderr: '' }) },
  serviceUser: () => Promise.resolve(undefined),
};

// Runs the CLI in-process with captured streams, as main.ts would with the real process.
export interface CapturedRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runCliCaptured(
  argv: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; host?: HostProbes; tty?: boolean; stdin?: string } = {},
): Promise<CapturedRun> {
  // `tty` makes stdout look like a terminal, where colour is on unless NO_COLOR is set.
  const stdout = Object.assign(new PassThrough(), { isTTY: options.tty === true });
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const ctx: CliContext = {
    argv,
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    stdout,
    stderr,
    signals: { onStop: () => undefined, onReload: () => undefined },
    host: options.host ?? QUIET_HOST,
    ...(options.stdin === undefined ? {} : { stdin: Readable.from([Buffer.from(options.stdin)]) }),
  };
  const code = await runCli(ctx);
  return { code, stdout: out, stderr: err };
}
