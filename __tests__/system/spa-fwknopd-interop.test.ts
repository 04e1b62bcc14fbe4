import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtCli } from './support/built-cli.js';
import { describeSystem } from './support/requirements.js';
import { createRig, type Rig } from './support/netns.js';
import { sleep } from '../support/helpers.js';

// Interop the other way: `knocktail knock --spa` against Debian's fwknopd (fwknop-server
// 2.6.10) in UDP-server mode in the server namespace, with its own config, access.conf, run
// directory and digest cache; fwknopd's rule in FWKNOP_INPUT is the proof. Stopped by PID.

describeSystem('knocktail knock --spa against fwknopd (netns)', ['ip', 'iptables', 'fwknopd'], () => {
  let rig: Rig;
  let dir: string;
  let fwknopd: ChildProcess | undefined;
  let output = '';
  let key: string;
  let hmac: string;

  async function fwknopRules(): Promise<string> {
    return (await rig.exec(rig.server, ['iptables', '-S', 'FWKNOP_INPUT'])).stdout;
  }

  async function knock(...extra: string[]): Promise<void> {
    const result = await rig.exec(rig.client, [
      'node',
      builtCli(),
      'knock',
      rig.serverV4,
      '--spa',
      '--key-file',
      join(dir, 'key'),
      '--hmac-key-file',
      join(dir, 'hmac'),
      ...extra,
    ]);
    expect(result.exitCode).toBe(0);
  }

  async function waitForRule(pattern: RegExp): Promise<string> {
    for (let tries = 0; tries < 30; tries++) {
      const rules = await fwknopRules();
      if (pattern.test(rules)) return rules;
      await sleep(100);
    }
    return fwknopRules();
  }

  /** Seconds from `before` to the expiry fwknopd stamped on the client's rule for tcp/PORT. */
  async function grantedFor(port: number, before: number): Promise<number> {
    const rules = await waitForRule(new RegExp(`--dport ${port} `));
    const expiry = new RegExp(
      `-s ${rig.clientV4}/32 -p tcp -m tcp --dport ${port} -m comment --comment _exp_(\\d+)`,
    ).exec(rules)?.[1];
    return Number(expiry) - before;
  }

  beforeAll(async () => {
    rig = await createRig('ktfwk');
    dir = await mkdtemp(join(tmpdir(), 'kt-fwknopd-'));
    await mkdir(join(dir, 'run'), { mode: 0o700 });
    key = randomBytes(32).toString('base64');
    hmac = randomBytes(64).toString('base64');
    await writeFile(join(dir, 'key'), `KEY_BASE64: ${key}\n`, { mode: 0o600 });
    await writeFile(join(dir, 'hmac'), `${hmac}\n`, { mode: 0o600 });
    await writeFile(
      join(dir, 'access.conf'),
      `SOURCE ANY\nOPEN_PORTS tcp/22, tcp/2222, tcp/2223, tcp/2224\nKEY_BASE64 ${key}\nHMAC_KEY_BASE64 ${hmac}\nFW_ACCESS_TIMEOUT 30\n`,
      { mode: 0o600 },
    );
    await writeFile(
      join(dir, 'fwknopd.conf'),
      `PCAP_INTF ktfws;\nENABLE_UDP_SERVER Y;\nUDPSERV_PORT 62201;\nFWKNOP_RUN_DIR ${join(dir, 'run')};\n`,
      { mode: 0o600 },
    );
    const argv = [
      'fwknopd',
      '-f',
      '-U',
      '-c',
      join(dir, 'fwknopd.conf'),
      '-a',
      join(dir, 'access.conf'),
      '-p',
      join(dir, 'run', 'fwknopd.pid'),
      '-d',
      join(dir, 'run', 'digest.cache'),
      '-r',
      join(dir, 'run'),
    ];
    // `ip netns exec` execs fwknopd, so the child's PID is fwknopd's own.
    fwknopd = rig.spawn(rig.server, argv);
    fwknopd.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    fwknopd.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    for (let tries = 0; tries < 50 && !output.includes('Kicking off UDP server'); tries++) await sleep(100);
    if (!output.includes('Kicking off UDP server')) throw new Error(`fwknopd did not start:\n${output}`);
  }, 30_000);

  afterAll(async () => {
    const child = fwknopd;
    if (child?.pid !== undefined && child.exitCode === null) {
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await (rig as Rig | undefined)?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  test('a packet for "the address it comes from" makes fwknopd open 22 for the client', async () => {
    await knock();
    expect(await waitForRule(new RegExp(`-s ${rig.clientV4}/32 .*--dport 22 `))).toMatch(
      new RegExp(`-s ${rig.clientV4}/32 -p tcp -m tcp --dport 22 .*-j ACCEPT`),
    );
  }, 30_000);

  test('a packet naming the address, another port and a timeout (fwknop -a, -A, -f) opens that port for that time', async () => {
    const before = Math.floor(Date.now() / 1000);
    await knock('--allow', rig.clientV4, '--access', 'tcp/2222', '--fw-timeout', '20');
    const granted = await grantedFor(2222, before);
    expect(granted).toBeGreaterThanOrEqual(19);
    expect(granted).toBeLessThanOrEqual(22);
  }, 30_000);

  test('`knocktail knock PROFILE` with an SPA profile (keys beside client.json) makes fwknopd open what it asks for', async () => {
    const profiles = join(dir, 'client.json');
    await writeFile(
      profiles,
      JSON.stringify({
        profiles: {
          office: {
            host: rig.serverV4,
            spa: { port: 62201, keyFile: 'key', hmacKeyFile: 'hmac' },
            access: ['tcp/2223'],
            fwTimeout: 25,
          },
        },
      }),
      { mode: 0o600 },
    );
    const before = Math.floor(Date.now() / 1000);
    const result = await rig.exec(rig.client, ['node', builtCli(), 'knock', 'office', '--profiles', profiles]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const granted = await grantedFor(2223, before);
    expect(granted).toBeGreaterThanOrEqual(24);
    expect(granted).toBeLessThanOrEqual(27);
  }, 30_000);

  test('a ~/.fwknoprc stanza, through `knocktail import fwknoprc`, becomes a profile that asks what fwknop would and that fwknopd accepts', async () => {
    await mkdir(join(dir, 'imported'));
    await writeFile(
      join(dir, 'fwknoprc'),
      `[default]\nUSE_HMAC Y\n\n[office]\nSPA_SERVER ${rig.serverV4}\nACCESS tcp/2224\nALLOW_IP source\nFW_TIMEOUT 15\nKEY_BASE64 ${key}\nHMAC_KEY_BASE64 ${hmac}\n`,
      { mode: 0o600 },
    );
    const profiles = join(dir, 'imported', 'client.json');
    const converted = await rig.exec(rig.client, [
      'node',
      builtCli(),
      'import',
      'fwknoprc',
      join(dir, 'fwknoprc'),
      '-o',
      profiles,
    ]);
    expect(converted.exitCode).toBe(0);
    // fwknop itself reads the stanza as the import does: the same request and timeout.
    const fwknop = await rig.exec(rig.client, [
      'fwknop',
      '--rc-file',
      join(dir, 'fwknoprc'),
      '-n',
      'office',
      '--test',
      '--no-save-args',
    ]);
    expect(fwknop.stdout).toMatch(/Message String: 0\.0\.0\.0,tcp\/2224\n/);
    expect(fwknop.stdout).toMatch(/Client Timeout: 15\n/);
    const before = Math.floor(Date.now() / 1000);
    const result = await rig.exec(rig.client, ['node', builtCli(), 'knock', 'office', '--profiles', profiles]);
    expect(result.exitCode).toBe(0);
    const granted = await grantedFor(2224, before);
    expect(granted).toBeGreaterThanOrEqual(14);
    expect(granted).toBeLessThanOrEqual(17);
  }, 30_000);
});
