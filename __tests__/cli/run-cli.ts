import { PassThrough } from 'node:stream';
import type { CliContext } from '../../src/cli/context.js';
import { runCli } from '../../src/cli/program.js';

// Runs the CLI in-process with captured streams, as main.ts would with the real process.
export interface CapturedRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runCliCaptured(argv: readonly string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<CapturedRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const ctx: CliContext = { argv, env: options.env ?? {}, cwd: options.cwd ?? process.cwd(), stdout, stderr, signals: { onStop: () => undefined, onReload: () => undefined } };
  const code = await runCli(ctx);
  return { code, stdout: out, stderr: err };
}
