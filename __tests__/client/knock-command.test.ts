import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { CliContext } from '../../src/cli/context.js';
import { COMMANDS } from '../../src/cli/command-table.js';
import { runCli } from '../../src/cli/program.js';
import { runCliCaptured } from '../cli/run-cli.js';

// `knocktail knock` end to end on loopback: the command line (or a door of the config)
// becomes datagrams on a local UDP listener.
async function knocktail(
  argv: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const ctx: CliContext = {
    argv,
    env,
    cwd: '/',
    stdout,
    stderr,
    signals: { onStop: () => undefined, onReload: () => undefined },
  };
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
    expect(run.out).toBe(
      `knocked udp:${port} on 127.0.0.1\nknocked udp:${port} on 127.0.0.1\nsent 2 knocks (udp:${port} udp:${port}) to 127.0.0.1\n`,
    );
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

  test('--quiet sends the knocks and prints nothing', async () => {
    const run = await knocktail(['knock', '127.0.0.1', `udp:${port}`, '--quiet']);
    expect(run).toEqual({ code: 0, out: '', err: '' });
    expect(await arrivals(1)).toEqual(['udp:127.0.0.1']);
  });

  test('--connect knocks, then carries the connection over stdin and stdout (ssh ProxyCommand), its messages on stderr', async () => {
    const seen: string[] = [];
    const server = createServer((socket) => {
      seen.push(`connected after ${received.length} knock`);
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const { port: echo } = server.address() as AddressInfo;
      const run = await runCliCaptured(['knock', '127.0.0.1', `udp:${port}`, '--connect', `127.0.0.1:${echo}`], {
        stdin: 'SSH-2.0-client\r\n',
      });
      expect(run).toEqual({
        code: 0,
        stdout: 'SSH-2.0-client\r\n',
        stderr: `knocked udp:${port} on 127.0.0.1\nsent 1 knock (udp:${port}) to 127.0.0.1\n`,
      });
      expect(seen).toEqual(['connected after 1 knock']);
      const quiet = await runCliCaptured(
        ['knock', '127.0.0.1', `udp:${port}`, '-q', '--connect', `[127.0.0.1]:${echo}`],
        { stdin: 'x' },
      );
      expect(quiet).toEqual({ code: 0, stdout: 'x', stderr: '' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('--connect to a port nobody answers exits 1 after two attempts; a bad HOST:PORT or --connect with --verify is a usage error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const { port: free } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const run = await runCliCaptured(['knock', '127.0.0.1', `udp:${port}`, '-q', '--connect', `127.0.0.1:${free}`], {
      stdin: '',
    });
    expect(run).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `knocktail: could not connect to tcp:${free} on 127.0.0.1 after the knock (attempt 1: refused; attempt 2: refused)\n`,
    });
    expect((await runCliCaptured(['knock', '127.0.0.1', 'udp:9', '--connect', 'server'])).stderr).toContain(
      'Expected --connect to be HOST:PORT like server.example.net:22 (ssh: %h:%p), got `"server"`',
    );
    expect((await runCliCaptured(['knock', '127.0.0.1', 'udp:9', '--connect', 'h:22', '--verify', '22'])).code).toBe(2);
  }, 10_000);

  test('-4 and -6 together are a usage error', async () => {
    const run = await knocktail(['knock', 'localhost', 'udp:9', '-4', '-6']);
    expect(run).toMatchObject({ code: 2, out: '' });
    expect(run.err).toContain('Expected at most one of -4 and -6, got both');
  });
});
