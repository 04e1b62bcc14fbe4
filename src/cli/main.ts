#!/usr/bin/env node
// The CLI entry: the one place that touches process.argv, process.env and process.exit.
import { runCli } from './program.js';

// `knocktail rules | head`: a closed pipe ends the output quietly, as for any Unix tool.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const stopHooks: (() => void)[] = [];
const reloadHooks: (() => void)[] = [];
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stopHooks.forEach((fn) => fn()));
process.on('SIGHUP', () => reloadHooks.forEach((fn) => fn()));

const code = await runCli({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  signals: { onStop: (fn) => stopHooks.push(fn), onReload: (fn) => reloadHooks.push(fn) },
});
process.exitCode = code;
