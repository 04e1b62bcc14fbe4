import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadConfig } from '../../src/config/load-config.js';
import { tripwirePorts } from '../../src/model/tripwires.js';
import { describeSystem } from './support/requirements.js';
import { CLASSIC_DOOR, createLiveRig, type LiveRig } from './support/live-rig.js';

// The product end to end: kernel LOG → private rsyslogd with the shipped drop-in → file →
// `knocktail run` in the server namespace → iptables → a real connect from the client; and the
// same suite with the "nflog" source: NFLOG → private ulogd2 (install's config) → file, with
// nf_log_all_netns left at 0 (as in a container, where LOG lines reach no log).
const GRANT_SECONDS = 4;

const SOURCES = [
  { source: 'file', title: 'rsyslog', tools: ['rsyslogd', 'logger'] },
  { source: 'nflog', title: 'NFLOG + ulogd2', tools: ['ulogd'] },
] as const;

for (const { source, title, tools } of SOURCES)
  describeSystem(
    `live daemon, end to end (iptables, ${title}, netns)`,
    ['ip', 'iptables', 'ip6tables', ...tools],
    () => {
      let live: LiveRig;

      beforeAll(async () => {
        live = await createLiveRig({
          backend: 'iptables',
          source,
          doors: [
            CLASSIC_DOOR,
            {
              name: 'seq',
              sequence: ['tcp:7000', 'udp:8000', 'tcp:9000'],
              timeout: '10s',
              open: ['tcp:22'],
              openFor: `${GRANT_SECONDS}s`,
            },
          ],
        });
        await live.startDaemon();
      }, 60_000);

      afterAll(async () => {
        await (live as LiveRig | undefined)?.destroy();
      }, 60_000);

      test('port 22 is closed to the client before any knock', async () => {
        expect(await live.rig.connect(live.rig.client, live.rig.serverV4, 22, 1000)).toBe(false);
      });

      test('a plain blocking connect to 31600 (with its SYN retransmits) opens 22, and 31601 closes it', async () => {
        const { rig } = live;
        // Like `telnet server 31600`: the SYN is dropped, the kernel retransmits it after 1 s.
        expect(await rig.connect(rig.client, rig.serverV4, 31600, 1500)).toBe(false);
        expect(await live.waitOpen(rig.serverV4, 22, 5000)).toBe(true);
        expect(await rig.connect(rig.client, rig.serverV4, 31601, 200)).toBe(false);
        expect(await live.waitClosed(rig.serverV4, 22, 5000)).toBe(true);
        const records = (await live.auditRecords()).filter((r) => r['door'] === 'classic');
        expect(records.map((r) => [r['event'], r['src'], r['reason'] ?? null])).toEqual([
          ['open', rig.clientV4, null],
          ['close', rig.clientV4, 'close-sequence'],
        ]);
      }, 30_000);

      test('the same door works over IPv6 (ip6tables)', async () => {
        const { rig } = live;
        expect(await rig.connect(rig.client, rig.serverV6, 22, 500)).toBe(false);
        expect(await live.knockOpenAndClose(rig.serverV6)).toEqual({ opened: true, closed: true });
      }, 30_000);

      test('a three-step door knocked with `knocktail knock` opens 22 and closes it again on expiry', async () => {
        const { rig } = live;
        const knock = await live.cli(['knock', rig.serverV4, '--door', 'seq', '--config', live.configPath], rig.client);
        expect(knock.exitCode).toBe(0);
        expect(await live.waitOpen(rig.serverV4, 22, 5000)).toBe(true);
        expect(await live.waitClosed(rig.serverV4, 22, (GRANT_SECONDS + 4) * 1000)).toBe(true);
        const closes = (await live.auditRecords()).filter((r) => r['door'] === 'seq' && r['event'] === 'close');
        expect(closes.map((r) => r['reason'])).toEqual(['expired']);
      }, 30_000);

      (source === 'file' ? test : test.skip)(
        'a forged `logger -t kernel` line with the prefix reaches nothing and opens nothing',
        async () => {
          const { rig } = live;
          if (!live.rsyslog) throw new Error('no rsyslog in this rig');
          const before = (await live.auditRecords()).length;
          const forged = `${live.prefix}IN=ktfws OUT= MAC= SRC=${rig.clientV4} DST=${rig.serverV4} LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=31600 WINDOW=64240 RES=0x00 SYN URGP=0`;
          execFileSync('logger', ['-u', live.rsyslog.socket, '-t', 'kernel', forged]);
          execFileSync('logger', ['-u', live.rsyslog.socket, '-t', 'kernel', '-p', 'kern.warning', forged]);
          await new Promise((done) => setTimeout(done, 1500));
          expect(await rig.connect(rig.client, rig.serverV4, 22, 500)).toBe(false);
          expect((await live.auditRecords()).length).toBe(before);
        },
        30_000,
      );

      (source === 'nflog' ? test : test.skip)(
        'knocks come through NFLOG alone: the guard has NFLOG rules and no LOG rule, and nf_log_all_netns is 0',
        async () => {
          const rules = execFileSync(
            'ip',
            ['netns', 'exec', live.rig.server, 'iptables', '-w', '-S', 'KNOCKTAIL-GUARD'],
            { encoding: 'utf8' },
          );
          expect(rules).toMatch(/-j NFLOG --nflog-prefix +"?kt[0-9a-f]{8}: "? --nflog-group \d+ --nflog-threshold 1/);
          expect(rules).not.toContain('-j LOG');
          expect((await readFile('/proc/sys/net/netfilter/nf_log_all_netns', 'utf8')).trim()).toBe('0');
          expect(await live.knockOpenAndClose(live.rig.serverV4)).toEqual({ opened: true, closed: true });
          expect(await readFile(live.logFile, 'utf8')).not.toContain(' kernel: ');
        },
        30_000,
      );

      test('a logrotate-style rotation in the middle loses no knock', async () => {
        const { rig } = live;
        await live.rotateLog();
        expect(await live.knockOpenAndClose(rig.serverV4, 31600, 8000)).toEqual({ opened: true, closed: true });
      }, 30_000);

      test('a daemon restarted after the firewall lost its rules (reboot, reload) puts its guard back', async () => {
        const { rig } = live;
        await live.stopDaemon('SIGTERM');
        expect((await live.cli(['teardown', '--config', live.configPath])).exitCode).toBe(0);
        await live.startDaemon();
        expect(await rig.connect(rig.client, rig.serverV4, 22, 500)).toBe(false);
        expect(await live.knockOpenAndClose(rig.serverV4)).toEqual({ opened: true, closed: true });
      }, 40_000);

      test('a daemon killed with SIGKILL mid-grant still gets the door closed on time after a restart', async () => {
        const { rig } = live;
        await live.cli(['knock', rig.serverV4, '--door', 'seq', '--config', live.configPath], rig.client);
        expect(await live.waitOpen(rig.serverV4, 22, 5000)).toBe(true);
        const openedAt = Date.now();
        await live.stopDaemon('SIGKILL');
        await live.startDaemon();
        expect(await live.waitClosed(rig.serverV4, 22, (GRANT_SECONDS + 5) * 1000)).toBe(true);
        // Closed within its lifetime plus the poll and start-up slack, never left open.
        expect(Date.now() - openedAt).toBeLessThan((GRANT_SECONDS + 5) * 1000);
        const closes = (await live.auditRecords()).filter((r) => r['door'] === 'seq' && r['event'] === 'close');
        expect(closes).toHaveLength(2);
        expect(['expired', 'expired-while-down']).toContain(closes[1]!['reason']);
      }, 40_000);

      test('status reports the running daemon, its counters and no pending closes', async () => {
        const status = await live.cli(['status', '--json', '--config', live.configPath]);
        expect(status.exitCode).toBe(0);
        const snapshot = JSON.parse(status.stdout) as {
          daemon: boolean;
          counters: Record<string, number>;
          pendingCloses: unknown[];
          grants: unknown[];
        };
        expect(snapshot.daemon).toBe(true);
        expect(snapshot.pendingCloses).toEqual([]);
        expect(snapshot.grants).toEqual([]);
      }, 20_000);

      test('SIGHUP with a broken config keeps the running one; with a good one the new door works', async () => {
        const { rig } = live;
        const good = await readFile(live.configPath, 'utf8');
        await writeFile(live.configPath, good.replace('"until-closed"', '"soon"'));
        live.signalDaemon('SIGHUP');
        for (let i = 0; i < 50 && !live.daemonOutput().includes('reload refused'); i += 1)
          await new Promise((done) => setTimeout(done, 100));
        expect(live.daemonOutput()).toContain('reload refused, keeping the running config');
        expect(await live.knockOpenAndClose(rig.serverV4)).toEqual({ opened: true, closed: true });

        // The reload itself installs the LOG/DROP guard for the new knock port.
        await writeFile(live.configPath, good.replace('"tcp:31600"', '"tcp:31700"'));
        live.signalDaemon('SIGHUP');
        for (let i = 0; i < 50 && !live.daemonOutput().includes('reloaded config'); i += 1)
          await new Promise((done) => setTimeout(done, 100));
        expect(await live.knockOpenAndClose(rig.serverV4, 31700)).toEqual({ opened: true, closed: true });
      }, 40_000);

      test('a corrupt state file fails closed on iptables: moved aside, audited, and the open rule is removed as an orphan', async () => {
        const { rig } = live;
        const stateDir = join(dirname(live.configPath), 'state');
        expect(
          (await live.cli(['grant', rig.clientV4, '--door', 'seq', '--for', '1h', '--config', live.configPath]))
            .exitCode,
        ).toBe(0);
        expect(await live.waitOpen(rig.serverV4, 22, 5000)).toBe(true);
        // Let the batched state write land, then crash and truncate the file as a full disk would.
        await new Promise((done) => setTimeout(done, 500));
        await live.stopDaemon('SIGKILL');
        const saved = await readFile(join(stateDir, 'state.json'), 'utf8');
        expect(saved).toContain(rig.clientV4);
        await writeFile(join(stateDir, 'state.json'), saved.slice(0, Math.floor(saved.length / 2)));
        expect(await rig.connect(rig.client, rig.serverV4, 22, 1000)).toBe(true);
        await live.startDaemon();
        expect(await live.waitClosed(rig.serverV4, 22, 5000)).toBe(true);
        expect((await readdir(stateDir)).some((name) => name.startsWith('state.json.corrupt-'))).toBe(true);
        const records = await live.auditRecords();
        expect(records.some((r) => r['event'] === 'state-corrupt')).toBe(true);
        expect(
          records.some(
            (r) => r['event'] === 'firewall-repair' && r['action'] === 'remove-orphan' && r['src'] === rig.clientV4,
          ),
        ).toBe(true);
        const rules = execFileSync('ip', ['netns', 'exec', rig.server, 'iptables', '-w', '-S', 'KNOCKTAIL'], {
          encoding: 'utf8',
        });
        expect(rules).not.toContain(rig.clientV4);
        const status = JSON.parse((await live.cli(['status', '--json', '--config', live.configPath])).stdout) as {
          stateRecovery?: { movedTo: string };
        };
        expect(status.stateRecovery?.movedTo).toContain('state.json.corrupt-');
      }, 40_000);

      // Last: the connects below hit a tripwire, which marks the client as a scanner for a while.
      test('a service started on a tripwire port after setup is reachable after the next check (every 5 s here)', async () => {
        const { rig } = live;
        const config = await loadConfig(live.configPath);
        const { port } = tripwirePorts(config.doors, config.logPrefix).find((p) => p.proto === 'tcp')!;
        const guard = (): string =>
          execFileSync('ip', ['netns', 'exec', rig.server, 'iptables', '-w', '-S', 'KNOCKTAIL-GUARD'], {
            encoding: 'utf8',
          });
        const listed = new RegExp(`--dports (\\S+,)?${port}(,|\\s)`);
        expect(guard()).toMatch(listed);
        const stop = await rig.listen(rig.server, port);
        try {
          expect(await live.waitOpen(rig.serverV4, port, 8000)).toBe(true);
          expect(guard()).not.toMatch(listed);
          expect(live.daemonOutput()).toContain(`listeners on tripwire ports changed (none → tcp:${port})`);
        } finally {
          await stop();
        }
      }, 30_000);
    },
  );
