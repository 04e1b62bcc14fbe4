import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { createSocket, type Socket } from 'node:dgram';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliCaptured } from '../cli/run-cli.js';

// `knocktail knock PROFILE`, knockd's `knock HOST 7000 8000:udp` syntax and --verify, end to
// end on loopback: datagrams arrive at a UDP listener, --verify connects to a TCP one.
let udp: Socket;
let udpPort: number;
let received: number[];
let tcp: Server;
let tcpPort: number;
let dir: string;
let env: Record<string, string>;

async function writeProfiles(profiles: unknown): Promise<void> {
  await mkdir(join(dir, 'xdg', 'knocktail'), { recursive: true });
  await writeFile(join(dir, 'xdg', 'knocktail', 'client.json'), JSON.stringify({ profiles }), { mode: 0o600 });
}

async function arrivals(count: number): Promise<number[]> {
  for (let i = 0; i < 100 && received.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  return received;
}

beforeEach(async () => {
  received = [];
  udp = createSocket('udp4');
  udp.on('message', (_message, info) => received.push(info.port));
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()));
  udpPort = udp.address().port;
  tcp = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', () => resolve()));
  tcpPort = (tcp.address() as { port: number }).port;
  dir = await mkdtemp(join(tmpdir(), 'ktdt-knock-profile-'));
  env = { XDG_CONFIG_HOME: join(dir, 'xdg'), HOME: join(dir, 'home') };
});

afterEach(async () => {
  await new Promise<void>((resolve) => udp.close(() => resolve()));
  await new Promise<void>((resolve) => tcp.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

describe('knocktail knock with a client profile', () => {
  test('a profile name sends its steps to its host with its delay, and its verify port is checked', async () => {
    await writeProfiles({
      lab: { host: '127.0.0.1', steps: [`udp:${udpPort}`, `udp:${udpPort}`], delay: '0ms', verify: tcpPort },
    });
    const run = await runCliCaptured(['knock', 'lab'], { env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `^knocked udp:${udpPort} on 127\\.0\\.0\\.1\\n.*\\nsent 2 knocks \\(udp:${udpPort} udp:${udpPort}\\) to 127\\.0\\.0\\.1\\nverified: tcp:${tcpPort} on 127\\.0\\.0\\.1 accepted a connection \\d+\\.\\d\\d s after the last knock \\(attempt 1 of 2\\)\\n$`,
      ),
    );
    expect(await arrivals(2)).toHaveLength(2);
  });

  test('--close sends the close steps, and --profiles names another file', async () => {
    const file = join(dir, 'other.json');
    await writeFile(
      file,
      JSON.stringify({ profiles: { lab: { host: '127.0.0.1', steps: ['udp:9'], closeSteps: [`udp:${udpPort}`] } } }),
    );
    const run = await runCliCaptured(['knock', 'lab', '--close', '--profiles', file], { env });
    expect(run.stdout).toContain(`sent 1 knock (udp:${udpPort}) to 127.0.0.1`);
    expect(run.code).toBe(0);
  });

  test('an unknown name lists the profiles there are; without a client.json it says where it looked', async () => {
    const none = await runCliCaptured(['knock', 'lab'], { env });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(
      `got "lab" and no profiles (${join(dir, 'xdg', 'knocktail', 'client.json')} does not exist)`,
    );
    await writeProfiles({
      work: { host: '127.0.0.1', steps: ['udp:9'] },
      home: { host: '127.0.0.1', steps: ['udp:9'] },
    });
    const unknown = await runCliCaptured(['knock', 'lab'], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('got "lab", which is not a profile of');
    expect(unknown.stderr).toContain('("work", "home")');
  });

  test('a client.json others can read gets a warning (a knock is a password), and the knock still goes out', async () => {
    await writeProfiles({ lab: { host: '127.0.0.1', steps: [`udp:${udpPort}`] } });
    const file = join(dir, 'xdg', 'knocktail', 'client.json');
    await chmod(file, 0o644);
    const run = await runCliCaptured(['knock', 'lab'], { env });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe(
      `knocktail: warning: ${file} is readable by everyone (mode 0644); it holds a knock or a secret: chmod 600 ${file}\n`,
    );
  });

  test('a broken client.json is refused with every problem and its JSON path', async () => {
    await writeProfiles({ lab: { host: '127.0.0.1', steps: ['tcp:99999'], verify: 'ssh' } });
    const run = await runCliCaptured(['knock', 'lab'], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('client.json: 2 problems\n  profiles.lab.steps[0]: expected a knock step');
    expect(run.stderr).toContain('  profiles.lab.verify: expected an integer, got `"ssh"` (string)');
  });
});

describe("knocktail knock HOST with knockd's syntax and --verify", () => {
  test('bare ports and PORT:udp are accepted; -u makes bare ports udp', async () => {
    const run = await runCliCaptured(['knock', '127.0.0.1', `${udpPort}:udp`, '-u', String(udpPort), '--delay', '0'], {
      env,
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`sent 2 knocks (udp:${udpPort} udp:${udpPort}) to 127.0.0.1`);
    expect(await arrivals(2)).toHaveLength(2);
  });

  test('--verify on a port that refuses is tried twice, reported, and exits 1', async () => {
    const closed = tcpPort;
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    tcp = createServer();
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', () => resolve()));
    const run = await runCliCaptured(['knock', '127.0.0.1', `udp:${udpPort}`, '--verify', String(closed)], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(
        `^knocktail: not verified: tcp:${closed} on 127\\.0\\.0\\.1 accepted no connection within \\d+\\.\\d\\d s of the last knock \\(attempt 1: refused; attempt 2: refused\\)\\n$`,
      ),
    );
  });

  test('--verify takes a TCP port only, and not with --close', async () => {
    expect((await runCliCaptured(['knock', '127.0.0.1', 'udp:9', '--verify', 'udp:22'], { env })).stderr).toContain(
      'Expected --verify to be a TCP port like 22',
    );
    const both = await runCliCaptured(['knock', '127.0.0.1', '--door', 'x', '--close', '--verify', '22'], { env });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('Expected --verify without --close');
  });
});
