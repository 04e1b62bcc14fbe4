import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { createRig, runArgv, type Rig } from './support/netns.js';
import { describeSystem } from './support/requirements.js';

// What the unit's sandbox leaves the firewall tools, rebuilt by hand inside a test network
// namespace (no systemd needed): a private mount namespace with /, /run and /proc/sys
// read-only (ProtectSystem=strict, ProtectKernelTunables=yes), /run/xtables.lock bound
// writable (ReadWritePaths=), and only CAP_NET_ADMIN + CAP_NET_RAW under no_new_privs
// (CapabilityBoundingSet=, AmbientCapabilities=, NoNewPrivileges=), as an unprivileged user
// (User=; `nobody` stands in for knocktail) who opens the lock through its group, as the unit's
// ExecStartPre= lines arrange. The host's /run is never written: the namespace gets its own tmpfs there.

const SANDBOX = String.raw`
set -e
mount -t tmpfs -o mode=0755 none /run
touch /run/xtables.lock
chmod 0600 /run/xtables.lock
chgrp nogroup /run/xtables.lock
chmod g+r /run/xtables.lock
mount --bind /run/xtables.lock /run/xtables.lock
mount -o remount,bind,ro /run
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
for dir in / /etc /usr /var /tmp; do if mountpoint -q "$dir"; then mount -o remount,bind,ro "$dir"; fi; done
exec setpriv --reuid=nobody --regid=nogroup --init-groups --no-new-privs --bounding-set=-all,+net_admin,+net_raw --inh-caps=-all,+net_admin,+net_raw --ambient-caps=-all,+net_admin,+net_raw "$@"
`;

const TOOLS = String.raw`
prefix="$1"
ok() { "$@" >/dev/null 2>&1 && echo "ok $1" || echo "FAILED $*"; }
touch /etc/knocktail-sandbox-probe 2>/dev/null && echo "FAILED /etc is writable" || echo "ok read-only /etc"
( echo 1 > /proc/sys/net/ipv4/ip_forward ) 2>/dev/null && echo "FAILED /proc/sys is writable" || echo "ok read-only /proc/sys"
ok iptables -w -A INPUT -p tcp --dport 7000 -j LOG --log-prefix "$prefix"
ok ip6tables -w -A INPUT -p tcp --dport 7000 -j LOG --log-prefix "$prefix"
ok ipset create knocktail-sandbox hash:ip timeout 60
ok ipset add knocktail-sandbox 198.51.100.9 timeout 30
ok nft add table inet knocktail_sandbox
ok nft add chain inet knocktail_sandbox input '{ type filter hook input priority 0; }'
if command -v iptables-legacy >/dev/null; then ok iptables-legacy -w -A INPUT -p udp --dport 7001 -j DROP; fi
`;

describeSystem(
  'the systemd sandbox, rebuilt by hand',
  ['ip', 'iptables', 'ip6tables', 'ipset', 'nft', 'unshare', 'setpriv', 'mount', 'mountpoint'],
  () => {
    let rig: Rig | undefined;

    beforeAll(async () => {
      rig = await createRig('ktdep');
    }, 30_000);

    afterAll(async () => {
      await rig?.destroy();
    }, 30_000);

    const sandboxed = (argv: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> =>
      rig!.exec(
        rig!.server,
        ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', SANDBOX, 'sandbox', ...argv],
        { timeoutMs: 20_000 },
      );

    test('iptables, ip6tables, ipset and nft work with two capabilities, a read-only system and read-only /proc/sys', async () => {
      const result = await sandboxed(['sh', '-c', TOOLS, 'tools', 'ktdep-sbx: ']);
      expect(result.stderr).toBe('');
      expect(result.stdout).not.toContain('FAILED');
      expect(result.stdout).toContain('ok read-only /etc');
      expect(result.stdout).toContain('ok read-only /proc/sys');
      expect(result.stdout.split('\n').filter((line) => line.startsWith('ok '))).toEqual(
        expect.arrayContaining(['ok iptables', 'ok ip6tables', 'ok ipset', 'ok nft']),
      );
      expect(result.stdout.match(/^ok nft$/gm)).toHaveLength(2);
      const listed = await rig!.exec(rig!.server, ['iptables', '-w', '-S', 'INPUT']);
      expect(listed.stdout).toContain('--log-prefix "ktdep-sbx: "');
    });

    test('the sandboxed tools run as nobody without any other capability', async () => {
      const result = await sandboxed(['grep', '-E', '^(Uid|CapEff)', '/proc/self/status']);
      // Bits 12 and 13: CAP_NET_ADMIN and CAP_NET_RAW.
      expect(result.stdout.trim()).toBe('Uid:\t65534\t65534\t65534\t65534\nCapEff:\t0000000000003000');
    });

    test("iptables-legacy as that user cannot open root's 0600 lock, which is why the unit gives it to the knocktail group", async () => {
      if ((await runArgv(['sh', '-c', 'command -v iptables-legacy'])).exitCode !== 0) return;
      const script = String.raw`mount -t tmpfs -o mode=0755 none /run && touch /run/xtables.lock && chmod 0600 /run/xtables.lock &&
      exec setpriv --reuid=nobody --regid=nogroup --init-groups --inh-caps=-all,+net_admin,+net_raw --ambient-caps=-all,+net_admin,+net_raw iptables-legacy -w -A INPUT -p udp --dport 7003 -j DROP`;
      const result = await rig!.exec(
        rig!.server,
        ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script],
        { timeoutMs: 20_000 },
      );
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toContain("can't open lock file /run/xtables.lock: Permission denied");
    });

    test('iptables-legacy cannot create its lock on a read-only /run, which is why the unit creates it before the sandbox', async () => {
      if ((await runArgv(['sh', '-c', 'command -v iptables-legacy'])).exitCode !== 0) return;
      const script = 'mount -t tmpfs -o ro none /run && exec iptables-legacy -w -A INPUT -p udp --dport 7002 -j DROP';
      const result = await rig!.exec(
        rig!.server,
        ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script],
        { timeoutMs: 20_000 },
      );
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toContain("can't open lock file /run/xtables.lock");
    });
  },
);
