import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startFail2ban, type Fail2ban } from './support/fail2ban.js';
import { CLASSIC_DOOR, createLiveRig, type LiveRig } from './support/live-rig.js';
import { describeSystem } from './support/requirements.js';

// A grant never overrides the host's own bans: Debian's fail2ban (started inside the server
// namespace with its own config, socket, pid file and database) bans the client through its
// default iptables action, or its nftables action for the nftables backend; the client then
// knocks correctly against the live daemon. The door opens (audit `open`), yet 22 stays shut
// for the banned source; once fail2ban lifts the ban, the same grant lets it in, which shows
// that only the ban was keeping it out. The iptables and ipset backends put their INPUT jump
// after fail2ban's (`inputPosition: "auto"`); the nftables backend's accept cannot undo the
// drop of fail2ban's own base chain.
const TOOLS = ['ip', 'iptables', 'ip6tables', 'ipset', 'nft', 'rsyslogd', 'fail2ban-server', 'fail2ban-client'];

describeSystem('a fail2ban ban wins over a grant', TOOLS, () => {
  describe.each([
    { backend: 'iptables', banaction: 'iptables-multiport' },
    { backend: 'ipset', banaction: 'iptables-multiport' },
    { backend: 'nftables', banaction: 'nftables-multiport' },
  ] as const)('the $backend backend next to fail2ban $banaction', ({ backend, banaction }) => {
    let live: LiveRig | undefined;
    let fail2ban: Fail2ban | undefined;

    beforeAll(async () => {
      live = await createLiveRig({
        backend,
        doors: [CLASSIC_DOOR],
        prepare: async (rig) => {
          fail2ban = await startFail2ban(rig, banaction);
          await fail2ban.ban(rig.clientV4);
        },
      });
      await live.startDaemon();
    }, 90_000);

    afterAll(async () => {
      await live?.stopDaemon();
      await fail2ban?.stop();
      await live?.destroy();
    }, 60_000);

    test('fail2ban holds the ban in the namespace', async () => {
      const banned = await fail2ban!.client(['get', 'sshd', 'banip']);
      expect(banned.stdout).toContain(live!.rig.clientV4);
    });

    if (backend !== 'nftables') {
      test("knocktail's INPUT jump sits after fail2ban's", async () => {
        const input = await live!.rig.exec(live!.rig.server, ['iptables', '-w', '-S', 'INPUT']);
        const rules = input.stdout.split('\n').filter((line) => line.startsWith('-A INPUT'));
        const ban = rules.findIndex((line) => line.includes('-j f2b-sshd'));
        expect(ban).toBeGreaterThanOrEqual(0);
        expect(rules.findIndex((line) => line.includes('-j KNOCKTAIL-GUARD'))).toBeGreaterThan(ban);
      });
    }

    if (backend !== 'nftables') {
      test("the daemon's periodic check moves the jump behind a ban rule appended after setup", async () => {
        const { rig } = live!;
        const inputRules = async (): Promise<string[]> =>
          (await rig.exec(rig.server, ['iptables', '-w', '-S', 'INPUT'])).stdout
            .split('\n')
            .filter((line) => line.startsWith('-A INPUT'));
        // A ban tool that appends (as CrowdSec's bouncer may) lands behind knocktail's jump.
        await rig.exec(rig.server, ['iptables', '-w', '-N', 'f2b-late']);
        await rig.exec(rig.server, ['iptables', '-w', '-A', 'INPUT', '-j', 'f2b-late']);
        const behind = (rules: string[]): boolean =>
          rules.findIndex((line) => line.includes('-j KNOCKTAIL-GUARD')) >
          rules.findIndex((line) => line.includes('-j f2b-late'));
        expect(behind(await inputRules())).toBe(false);
        const deadline = Date.now() + 15_000; // checkInterval is 5 s in the live rig
        while (!behind(await inputRules()) && Date.now() < deadline) await new Promise((done) => setTimeout(done, 250));
        const rules = await inputRules();
        expect(behind(rules)).toBe(true);
        expect(rules.filter((line) => line.includes('-j KNOCKTAIL-GUARD'))).toHaveLength(1);
        // The move is visible in the firewall a moment before its log line has come through the daemon's stdout.
        const said = "moved INPUT's jump to knocktail's guard back behind the ban rules";
        const logDeadline = Date.now() + 2000;
        while (!live!.daemonOutput().includes(said) && Date.now() < logDeadline)
          await new Promise((done) => setTimeout(done, 50));
        expect(live!.daemonOutput()).toContain(said);
      }, 30_000);
    }

    test('the banned source knocks correctly and the door opens for it, yet 22 stays shut; lifting the ban lets the grant in', async () => {
      const { rig } = live!;
      await rig.connect(rig.client, rig.serverV4, 31600, 200);
      const deadline = Date.now() + 5000;
      while (
        !(await live!.auditRecords()).some((record) => record['event'] === 'open' && record['src'] === rig.clientV4) &&
        Date.now() < deadline
      ) {
        await new Promise((done) => setTimeout(done, 100));
      }
      expect(
        (await live!.auditRecords()).filter((record) => record['event'] === 'open').map((record) => record['src']),
      ).toEqual([rig.clientV4]);
      expect(await rig.connect(rig.client, rig.serverV4, 22, 500)).toBe(false);
      expect(await rig.connect(rig.client, rig.serverV4, 22, 500)).toBe(false);
      await fail2ban!.unban(rig.clientV4);
      expect(await live!.waitOpen(rig.serverV4, 22, 5000)).toBe(true);
    }, 30_000);
  });
});
