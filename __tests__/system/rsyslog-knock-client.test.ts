import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, uptime } from 'node:os';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { renderRsyslogDropin } from '../../src/install/rsyslog-dropin.js';
import { knockStepOf } from '../../src/knock/knock-step.js';
import { parseKernelLine } from '../../src/parse/parse-kernel-line.js';
import { createRig, type Rig, enableLogAllNetns } from './support/netns.js';
import { describeSystem } from './support/requirements.js';
import { startRsyslog, waitForLines, type PrivateRsyslog, logAndDrop } from './support/rsyslog.js';

// The knock client from the client namespace against LOG+DROP rules in the server namespace,
// counted through the shipped rsyslog drop-in: every step is exactly one logged packet, in
// order, and a TCP knock is never retransmitted (the SYN retransmits would come at 1 s and 3 s).

const repo = new URL('../../', import.meta.url).pathname;
const shipped = readFileSync(join(repo, 'rsyslog/30-knocktail.conf'), 'utf8');
const prefix = `ktdepk${randomBytes(3).toString('hex')}: `;
// The client code the test runs inside the namespace, transpiled as is (node 20 runs no TypeScript).
const CLIENT_FILES = ['src/errors.ts', 'src/knock/door.ts', 'src/client/knock-packets.ts', 'src/client/send-knock.ts'];
const ENTRY = `
import { execFile } from 'node:child_process';
import { sendKnock } from './src/client/send-knock.js';
const { target, steps } = JSON.parse(process.argv[2]);
const runner = {
  run: (argv) => new Promise((resolve) => execFile(argv[0], argv.slice(1), (error, stdout, stderr) =>
    resolve({ exitCode: error ? (typeof error.code === 'number' ? error.code : 127) : 0, stdout, stderr }))),
};
await sendKnock(target, steps, { delayMs: 100, runner, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) });
`;

describeSystem('the knock client', ['rsyslogd', 'iptables', 'ip6tables', 'ip', 'ping', 'sysctl'], () => {
  let dir: string;
  let rsyslog: PrivateRsyslog | undefined;
  let rig: Rig | undefined;
  let knocks: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ktdep-knock-'));
    for (const path of CLIENT_FILES) {
      const source = readFileSync(join(repo, path), 'utf8');
      const output = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true } });
      const target = join(dir, 'client', path.replace(/\.ts$/, '.js'));
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, output.outputText);
    }
    await writeFile(join(dir, 'client', 'package.json'), '{"type":"module"}\n');
    await writeFile(join(dir, 'client', 'knock.js'), ENTRY);

    knocks = join(dir, 'knocks.log');
    await writeFile(join(dir, '30-knocktail.conf'), renderRsyslogDropin(shipped, { prefix, logFile: knocks }));
    rsyslog = await startRsyslog(dir, `include(file="${join(dir, '30-knocktail.conf')}")`);
    restoreLogAllNetns = await enableLogAllNetns();
    rig = await createRig('ktdep');
    await logAndDrop(rig, prefix, [['-p', 'tcp', '--dport', '7200:7299'], ['-p', 'udp', '--dport', '7200:7299']]);
  }, 60_000);

  let restoreLogAllNetns: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await restoreLogAllNetns?.();
    await rsyslog?.stop();
    await rig?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  async function knock(target: { text: string; family: 4 | 6 }, steps: unknown[]): Promise<void> {
    const result = await rig!.exec(rig!.client, [process.execPath, join(dir, 'client', 'knock.js'), JSON.stringify({ target, steps })], { timeoutMs: 15_000 });
    if (result.exitCode !== 0) throw new Error(`knock failed (${result.exitCode}): ${result.stderr}`);
  }

  function loggedSteps(lines: string[], family: 4 | 6): string[] {
    const context = { prefix, referenceTime: Date.now(), bootTime: Date.now() - uptime() * 1000 };
    return lines.flatMap((line) => {
      const result = parseKernelLine(line, context);
      if (result.kind !== 'packet' || result.packet.family !== family) return [];
      return [knockStepOf(result.packet) ?? `not a knock: ${line}`];
    });
  }

  test('each step of an IPv4 knock is logged exactly once and in order, with no SYN retransmit', async () => {
    await knock({ text: rig!.serverV4, family: 4 }, [
      { proto: 'tcp', port: 7201 },
      { proto: 'udp', port: 7202 },
      { proto: 'icmp' },
      { proto: 'tcp', port: 7203 },
    ]);
    await waitForLines(knocks, (lines) => loggedSteps(lines, 4).length >= 4);
    // Long enough for the kernel's SYN retransmits (1 s, then 3 s) if a socket had survived.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    expect(loggedSteps(await waitForLines(knocks, () => true), 4)).toEqual(['tcp:7201', 'udp:7202', 'icmp', 'tcp:7203']);
  }, 30_000);

  test('each step of an IPv6 knock is logged exactly once and in order', async () => {
    await knock({ text: rig!.serverV6, family: 6 }, [{ proto: 'udp', port: 7210 }, { proto: 'icmp' }, { proto: 'tcp', port: 7211 }]);
    await waitForLines(knocks, (lines) => loggedSteps(lines, 6).length >= 3);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(loggedSteps(await waitForLines(knocks, () => true), 6)).toEqual(['udp:7210', 'icmp', 'tcp:7211']);
  }, 30_000);
});
