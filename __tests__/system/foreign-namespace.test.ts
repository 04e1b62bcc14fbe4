import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { runArgv } from './support/netns.js';
import { describeSystem } from './support/requirements.js';
import { CLASSIC_DOOR, createLiveRig, type LiveRig } from './support/live-rig.js';
import { sleep } from '../support/helpers.js';

// Issue 10: with nf_log_all_netns=1 (set by the rig) every network namespace prints genuine
// kernel LOG lines into the one kernel log. A third namespace with its own LOG rule and our
// prefix logs knocks on 31600 whose DST= is its own address (or loopback) and whose SRC= it
// chose: the daemon must count them foreign and open nothing, while a real knock still opens.
const FOREIGN_SRC = '203.0.113.200';
const FOREIGN_DST = '203.0.113.201';
describeSystem('lines from another network namespace (nf_log_all_netns=1)', ['ip', 'iptables', 'rsyslogd'], () => {
  let live: LiveRig;
  const foreign = `ktforeign-${process.pid}`;

  beforeAll(async () => {
    live = await createLiveRig({ backend: 'iptables', doors: [CLASSIC_DOOR] });
    await live.startDaemon();
    for (const argv of [
      ['ip', 'netns', 'add', foreign],
      ['ip', '-n', foreign, 'link', 'set', 'lo', 'up'],
      ['ip', '-n', foreign, 'addr', 'add', `${FOREIGN_SRC}/32`, 'dev', 'lo'],
      ['ip', '-n', foreign, 'addr', 'add', `${FOREIGN_DST}/32`, 'dev', 'lo'],
      [
        'ip',
        'netns',
        'exec',
        foreign,
        'iptables',
        '-A',
        'INPUT',
        '-p',
        'tcp',
        '--dport',
        '31600',
        '--syn',
        '-j',
        'LOG',
        '--log-prefix',
        live.prefix,
      ],
    ]) {
      const result = await runArgv(argv);
      if (result.exitCode !== 0) throw new Error(`${argv.join(' ')}: ${result.stderr}`);
    }
  }, 60_000);

  afterAll(async () => {
    await runArgv(['ip', 'netns', 'del', foreign]);
    await (live as LiveRig | undefined)?.destroy(); // unset when beforeAll failed
  }, 60_000);

  test('the daemon warns at start that other namespaces can log with our prefix', () => {
    expect(live.daemonOutput()).toContain('nf_log_all_netns');
    expect(live.daemonOutput()).toContain('198.51.100.1');
  });

  test('a knock logged in another namespace (SRC= its choice, DST= not ours) is counted foreign and opens nothing; the real knock still opens', async () => {
    // One SYN each, no retransmits: to the namespace's own address and to its loopback.
    const script = `const net = require('node:net');
for (const host of ['${FOREIGN_DST}', '127.0.0.1']) {
  const socket = net.connect({ host, port: 31600, localAddress: '${FOREIGN_SRC}' });
  socket.on('error', () => undefined);
  setTimeout(() => socket.destroy(), 300);
}`;
    const sent = await runArgv(['ip', 'netns', 'exec', foreign, 'node', '-e', script], { timeoutMs: 10_000 });
    expect(sent.exitCode).toBe(0);
    // The lines are genuine kernel lines in the knock log the daemon follows.
    const deadline = Date.now() + 10_000;
    let logged: string[] = [];
    while (logged.length < 2 && Date.now() < deadline) {
      logged = (await readFile(live.logFile, 'utf8').catch(() => ''))
        .split('\n')
        .filter((line) => line.includes(`SRC=${FOREIGN_SRC}`));
      if (logged.length < 2) await sleep(100);
    }
    expect(logged).toHaveLength(2);
    expect(logged.every((line) => / kernel: /.test(line) && line.includes('OUT= '))).toBe(true);
    let counters: Record<string, number> = {};
    while (Date.now() < deadline) {
      const status = await live.cli(['status', '--json', '--config', live.configPath]);
      counters = (JSON.parse(status.stdout) as { counters: Record<string, number> }).counters;
      if ((counters['foreign'] ?? 0) >= 2) break;
      await sleep(100);
    }
    expect(counters).toMatchObject({ foreign: 2, packets: 0, knocks: 0, opens: 0 });
    expect((await live.auditRecords()).filter((record) => record['src'] === FOREIGN_SRC)).toEqual([]);
    const rules = await live.rig.exec(live.rig.server, ['iptables-save']);
    expect(rules.stdout).not.toContain(FOREIGN_SRC);

    expect(await live.knockOpenAndClose(live.rig.serverV4)).toEqual({ opened: true, closed: true });
    const opens = (await live.auditRecords()).filter((record) => record['event'] === 'open');
    expect(opens.map((record) => record['src'])).toEqual([live.rig.clientV4]);
  }, 60_000);
});
