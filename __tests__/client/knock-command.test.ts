import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { Command } from 'commander';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { CliContext } from '../../src/cli/context.js';
import { registerKnock } from '../../src/cli/knock.js';

// `knocktail knock` end to end on loopback: the command line (or a door of the config)
// becomes datagrams on a local UDP listener.
async function knocktail(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const ctx: CliContext = { argv, env, cwd: '/', stdout, stderr: new PassThrough(), signals: { onStop: () => undefined, onReload: () => undefined } };
  let code = -1;
  const program = new Command('knocktail').exitOverride();
  registerKnock({ program, ctx, setCode: (value) => (code = value) });
  await program.parseAsync(argv, { from: 'user' });
  return { code, out };
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
    await expect(knocktail(['knock', '127.0.0.1', 'udp:9', '--delay', '1s'])).rejects.toMatchObject({ code: 'USAGE' });
  });

  test('-4 and -6 together are a usage error', async () => {
    await expect(knocktail(['knock', 'localhost', 'udp:9', '-4', '-6'])).rejects.toMatchObject({ code: 'USAGE' });
  });
});
