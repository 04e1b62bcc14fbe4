import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { describeSystem } from './support/requirements.js';
import { CLASSIC_DOOR, createLiveRig, type LiveRig } from './support/live-rig.js';

// "Who opened port 22?" against the real daemon (nftables backend this time): a knock and
// its close sequence, an expiry, a manual grant and its revoke, and a knock still open
// give exactly four grant rows with the right reasons, and /metrics counted them.
const METRICS_PORT = 19469;

describeSystem(
  'audit trail and metrics of the live daemon (nftables, rsyslog, netns)',
  ['ip', 'nft', 'rsyslogd'],
  () => {
    let live: LiveRig;

    beforeAll(async () => {
      live = await createLiveRig({
        backend: 'nftables',
        doors: [
          CLASSIC_DOOR,
          { name: 'short', sequence: ['udp:7000', 'tcp:7001'], timeout: '10s', open: ['tcp:22'], openFor: '2s' },
        ],
        extra: { metrics: { listen: `127.0.0.1:${METRICS_PORT}` } },
      });
      await live.startDaemon();
    }, 60_000);

    afterAll(async () => {
      await (live as LiveRig | undefined)?.destroy(); // unset when beforeAll failed
    }, 60_000);

    test('a close sequence, an expiry, a revoke and a grant still open give four rows with their reasons', async () => {
      const { rig } = live;
      // 1. knock and close sequence
      expect(await live.knockOpenAndClose(rig.serverV4)).toEqual({ opened: true, closed: true });
      // 2. a two-step door that expires
      expect((await live.cli(['knock', rig.serverV4, 'udp:7000', 'tcp:7001'], rig.client)).exitCode).toBe(0);
      expect(await live.waitOpen(rig.serverV4, 22, 5000)).toBe(true);
      expect(await live.waitClosed(rig.serverV4, 22, 6000)).toBe(true);
      // 3. a manual grant, revoked (through the daemon's control socket)
      const grant = await live.cli([
        'grant',
        rig.clientV6,
        '--door',
        'classic',
        '--for',
        '10m',
        '--config',
        live.configPath,
      ]);
      expect(grant.stdout).toContain(`classic open for ${rig.clientV6}`);
      expect(await live.waitOpen(rig.serverV6, 22, 5000)).toBe(true);
      expect((await live.cli(['revoke', rig.clientV6, '--config', live.configPath])).stdout).toContain(
        'closed classic',
      );
      expect(await live.waitClosed(rig.serverV6, 22, 5000)).toBe(true);
      // 4. a knock that stays open
      await rig.connect(rig.client, rig.serverV4, 31600, 200);
      expect(await live.waitOpen(rig.serverV4, 22, 5000)).toBe(true);

      const table = await live.cli(['audit', '--config', live.configPath, '--since', '1h']);
      expect(table.exitCode).toBe(0);
      const rows = table.stdout
        .split('\n')
        .filter((line) => line.includes(rig.clientV4) || line.includes(rig.clientV6));
      expect(rows).toHaveLength(4);
      expect(rows[0]).toMatch(/classic .*close sequence/);
      expect(rows[1]).toMatch(/short .*expired/);
      expect(rows[2]).toMatch(/classic .*revoked/);
      expect(rows[3]).toMatch(/classic .*still open/);

      const json = await live.cli(['audit', '--config', live.configPath, '--json', '--event', 'close']);
      const reasons = json.stdout
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { reason: string }).reason);
      expect(reasons).toEqual(['close-sequence', 'expired', 'revoked']);
    }, 60_000);

    test('the metrics endpoint counted those opens and closes', async () => {
      const script = `require('http').get('http://127.0.0.1:${METRICS_PORT}/metrics', (r) => { let b = ''; r.on('data', (c) => b += c); r.on('end', () => process.stdout.write(b)); })`;
      const { stdout } = await live.rig.exec(live.rig.server, ['node', '-e', script]);
      expect(stdout).toMatch(/knocktail_opens_total\{door="classic"\} 3/);
      expect(stdout).toMatch(/knocktail_opens_total\{door="short"\} 1/);
      expect(stdout).toMatch(/knocktail_closes_total\{door="classic",reason="close-sequence"\} 1/);
      expect(stdout).toMatch(/knocktail_closes_total\{door="short",reason="expired"\} 1/);
      expect(stdout).toMatch(/knocktail_closes_total\{door="classic",reason="revoked"\} 1/);
      expect(stdout).toMatch(/knocktail_open_grants 1/);
      expect(stdout).toMatch(/knocktail_packets_total [1-9]/);
    }, 20_000);
  },
);
