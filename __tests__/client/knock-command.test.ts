import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { CliContext } from '../../src/cli/context.js';
import { COMMANDS } from '../../src/cli/command-table.js';
import { runCli } from '../../src/cli/program.js';

// `knocktail knock` end to end on loopback: the command line (or a door of the config)
// becomes datagrams on a local UDP listener.
async function knocktail(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const ctx: CliContext = { argv, env, cwd: '/', stdout, stderr, signals: { onStop: () => undefined, onReload: () => undefined } };
  const code = await runCli(
    ctx,
    COMMANDS.filter((command) => command.name === 'knock'),
  );
  return { code, out, err };
}

let listener: Socket;
let port: number;
let received: string[];
let dir: string;

beforeEach(async () => {
  received = [];
  listener = createSocket('udp4');
  listener.on('message', (_message, info) => received.push(`udp:${info.address}`));
  await new Promise<void>((resolve) => listener.bind(0, '127.0.0.1', () => resolve()));
  port = listener.address().port;
  dir = await mkdtemp(join(tmpdir(), 'ktdep-knock-cmd-'));
});

afterEach(async () => {
  await new Promise<void>((resolve) => listener.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

async function arrivals(count: number): Promise<string[]> {
  for (let i = 0; i < 100 && received.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  return received;
}

describe('knocktail knock', () => {
  test('the steps on the command line are sent and reported one by one', async () => {
    const run = await knocktail(['knock', '127.0.0.1', `udp:${port}`, `udp:${port}`, '--delay', '0']);
    expect(run.code).toBe(0);
    expect(run.out).toBe(`knocked udp:${port} on 127.0.0.1\nknocked udp:${port} on 127.0.0.1\nsent 2 knocks (udp:${port} udp:${port}) to 127.0.0.1\n`);
    expect(await arrivals(2)).toEqual(['udp:127.0.0.1', 'udp:127.0.0.1']);
  });

  test("--door sends that door's sequence from the config named by KNOCKTAIL_CONFIG", async () => {
    const config = join(dir, 'config.json');
    await writeFile(
      config,
      JSON.stringify({
        logFile: join(dir, 'knocks.log'),
        stateDir: join(dir, 'state'),
        auditLog: join(dir, 'audit.log'),
        firewall: { backend: 'dry-run' },
        doors: [{ name: 'ssh', sequence: [`udp:${port}`], open: ['tcp:22'] }],
      }),
    );
    const run = await knocktail(['knock', '127.0.0.1', '--door', 'ssh', '-4'], { KNOCKTAIL_CONFIG: config });
    expect(run.out).toContain(`sent 1 knock (udp:${port}) to 127.0.0.1`);
    expect(await arrivals(1)).toEqual(['udp:127.0.0.1']);
  });

  test('a delay that is not a whole number of milliseconds is a usage error', async () => {
    const run = await knocktail(['knock', '127.0.0.1', 'udp:9', '--delay', '1s']);
    expect(run).toMatchObject({ code: 2, out: '' });
    expect(run.err).toContain('Expected --delay to be a whole number of milliseconds');
  });

  test('-4 and -6 together are a usage error', async () => {
    const run = await knocktail(['knock', 'localhost', 'udp:9', '-4', '-6']);
    expect(run).toMatchObject({ code: 2, out: '' });
    expect(run.err).toContain('Expected at most one of -4 and -6, got both');
  });
});
