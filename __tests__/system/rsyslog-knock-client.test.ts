import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, uptime } from 'node:os';
import { join } from 'node:path';
import { renderRsyslogDropin } from '../../src/install/rsyslog-dropin.js';
import { knockStepOf } from '../../src/knock/knock-step.js';
import { parseKernelLine } from '../../src/parse/parse-kernel-line.js';
import { builtCli } from './support/built-cli.js';
import { createLiveRig, type LiveRig } from './support/live-rig.js';
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
    await writeFile(
      join(dir, '30-knocktail.conf'),
      renderRsyslogDropin(shipped, { prefix, logFile: knocks, group: 'root' }),
    );
    logging = await startLoggingRig(dir, `include(file="${join(dir, '30-knocktail.conf')}")`, prefix, [
      ['-p', 'tcp', '--dport', '7200:7299'],
      ['-p', 'udp', '--dport', '7200:7299'],
    ]);
    rig = logging.rig;
  }, 60_000);

  let logging: LoggingRig | undefined;
  afterAll(async () => {
    await logging?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  // The real command, as a user runs it: `knocktail knock HOST STEP...` from the client namespace.
  async function knock(host: string, steps: string[]): Promise<void> {
    const result = await rig!.exec(rig!.client, [process.execPath, builtCli(), 'knock', host, ...steps], {
      timeoutMs: 15_000,
    });
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
    expect(loggedSteps(await waitForLines(knocks, () => true), 4)).toEqual([
      'tcp:7201',
      'udp:7202',
      'icmp',
      'tcp:7203',
    ]);
  }, 30_000);

  test('each step of an IPv6 knock is logged exactly once and in order', async () => {
    await knock(rig!.serverV6, ['udp:7210', 'icmp', 'tcp:7211']);
    await waitForLines(knocks, (lines) => loggedSteps(lines, 6).length >= 3);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(loggedSteps(await waitForLines(knocks, () => true), 6)).toEqual(['udp:7210', 'icmp', 'tcp:7211']);
  }, 30_000);
});

// A client profile and --verify against the real daemon: `knocktail knock NAME` from the
// client namespace (profile found through XDG_CONFIG_HOME) opens port 22, --verify connects
// to it and reports the time; the close steps close it; a wrong knock fails --verify (exit 1).
describeSystem(
  'the knock client with a profile and --verify, against the daemon',
  ['rsyslogd', 'iptables', 'ip'],
  () => {
    let live: LiveRig | undefined;
    let xdg: string;

    beforeAll(async () => {
      const started = await createLiveRig({
        backend: 'iptables',
        doors: [
          {
            name: 'lab',
            sequence: ['tcp:7301', 'udp:7302', 'tcp:7303'],
            timeout: '10s',
            open: ['tcp:22'],
            openFor: '1m',
            closeSequence: ['udp:7309'],
          },
        ],
      });
      live = started;
      xdg = join(started.dir, 'xdg');
      await mkdir(join(xdg, 'knocktail'), { recursive: true });
      const lab = {
        host: started.rig.serverV4,
        steps: ['tcp:7301', 'udp:7302', 'tcp:7303'],
        closeSteps: ['udp:7309'],
        verify: 22,
      };
      await writeFile(join(xdg, 'knocktail', 'client.json'), JSON.stringify({ profiles: { lab } }), { mode: 0o600 });
      await started.startDaemon();
    }, 60_000);

    afterAll(async () => {
      await live?.destroy();
    }, 60_000);

    const client = (args: string[]) =>
      live!.rig.exec(
        live!.rig.client,
        ['env', `XDG_CONFIG_HOME=${xdg}`, process.execPath, builtCli(), 'knock', ...args],
        { timeoutMs: 20_000 },
      );

    test("`knock lab` sends the profile's steps, and its verify port answers: success and the time are reported", async () => {
      const run = await client(['lab']);
      expect(run.stderr).toBe('');
      expect(run.exitCode).toBe(0);
      expect(run.stdout).toContain(`sent 3 knocks (tcp:7301 udp:7302 tcp:7303) to ${live!.rig.serverV4}`);
      const verified =
        /verified: tcp:22 on (\S+) accepted a connection (\d+\.\d\d) s after the last knock \(attempt ([12]) of 2\)/.exec(
          run.stdout,
        );
      expect(verified?.[1]).toBe(live!.rig.serverV4);
      process.stderr.write(`knock lab --verify: door open after ${verified?.[2]} s (attempt ${verified?.[3]})\n`);
      expect((await live!.auditRecords()).filter((record) => record['event'] === 'open')).toHaveLength(1);
    }, 30_000);

    test('`knock lab --close` sends the close steps and the port closes', async () => {
      const run = await client(['lab', '--close']);
      expect(run.exitCode).toBe(0);
      expect(run.stdout).toContain(`sent 1 knock (udp:7309) to ${live!.rig.serverV4}`);
      expect(await live!.waitClosed(live!.rig.serverV4, 22, 5000)).toBe(true);
    }, 30_000);

    // The guard refuses 22 as the host refuses an unused port (a bare host: a TCP reset), so each
    // try is refused at once rather than left unanswered.
    test("a wrong knock in knockd's syntax leaves the door shut: --verify tries twice and exits 1", async () => {
      const run = await client([live!.rig.serverV4, '7301', '7302', '7303', '--verify', '22']);
      expect(run.stdout).toContain(`sent 3 knocks (tcp:7301 tcp:7302 tcp:7303) to ${live!.rig.serverV4}`);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(
        /not verified: tcp:22 on \S+ accepted no connection within \d+\.\d\d s of the last knock \(attempt 1: refused; attempt 2: refused\)/,
      );
    }, 30_000);
  },
);
