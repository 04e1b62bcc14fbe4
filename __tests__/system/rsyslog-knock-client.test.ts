import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, uptime } from 'node:os';
import { join } from 'node:path';
import { renderRsyslogDropin } from '../../src/install/rsyslog-dropin.js';
import { knockStepOf } from '../../src/knock/knock-step.js';
import { parseKernelLine } from '../../src/parse/parse-kernel-line.js';
import { builtCli } from './support/built-cli.js';
import type { Rig } from './support/netns.js';
import { describeSystem } from './support/requirements.js';
import { startLoggingRig, waitForLines, type LoggingRig } from './support/rsyslog.js';

// The knock client from the client namespace against LOG+DROP rules in the server namespace,
// counted through the shipped rsyslog drop-in: every step is exactly one logged packet, in
// order, and a TCP knock is never retransmitted (the SYN retransmits would come at 1 s and 3 s).

const shipped = readFileSync(new URL('../../rsyslog/30-knocktail.conf', import.meta.url), 'utf8');
const prefix = `ktdepk${randomBytes(3).toString('hex')}: `;

describeSystem('the knock client', ['rsyslogd', 'iptables', 'ip6tables', 'ip', 'ping', 'sysctl'], () => {
  let dir: string;
  let rig: Rig | undefined;
  let knocks: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ktdep-knock-'));
    knocks = join(dir, 'knocks.log');
    await writeFile(join(dir, '30-knocktail.conf'), renderRsyslogDropin(shipped, { prefix, logFile: knocks }));
    logging = await startLoggingRig(dir, `include(file="${join(dir, '30-knocktail.conf')}")`, prefix, [['-p', 'tcp', '--dport', '7200:7299'], ['-p', 'udp', '--dport', '7200:7299']]);
    rig = logging.rig;
  }, 60_000);

  let logging: LoggingRig | undefined;
  afterAll(async () => {
    await logging?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  // The real command, as a user runs it: `knocktail knock HOST STEP...` from the client namespace.
  async function knock(host: string, steps: string[]): Promise<void> {
    const result = await rig!.exec(rig!.client, [process.execPath, builtCli(), 'knock', host, ...steps], { timeoutMs: 15_000 });
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
    await knock(rig!.serverV4, ['tcp:7201', 'udp:7202', 'icmp', 'tcp:7203']);
    await waitForLines(knocks, (lines) => loggedSteps(lines, 4).length >= 4);
    // Long enough for the kernel's SYN retransmits (1 s, then 3 s) if a socket had survived.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    expect(loggedSteps(await waitForLines(knocks, () => true), 4)).toEqual(['tcp:7201', 'udp:7202', 'icmp', 'tcp:7203']);
  }, 30_000);

  test('each step of an IPv6 knock is logged exactly once and in order', async () => {
    await knock(rig!.serverV6, ['udp:7210', 'icmp', 'tcp:7211']);
    await waitForLines(knocks, (lines) => loggedSteps(lines, 6).length >= 3);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(loggedSteps(await waitForLines(knocks, () => true), 6)).toEqual(['udp:7210', 'icmp', 'tcp:7211']);
  }, 30_000);
});
