import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecaRunner } from '../../src/firewall/command-runner.js';
import { selectBackend } from '../../src/firewall/select-backend.js';
import { firewallConfig, grantFor, sshDoor } from '../firewall/fixtures.js';
import { builtCli } from './support/built-cli.js';
import { CLASSIC_DOOR, createLiveRig, type LiveRig } from './support/live-rig.js';
import { createRig, type Rig } from './support/netns.js';
import { describeSystem } from './support/requirements.js';
import { firewallSnapshot } from './support/firewall-snapshot.js';
import { createUfwSandbox, type UfwSandbox } from './support/ufw.js';

// knocktail next to Debian's real ufw (default deny incoming), enabled inside the test
// namespace only (support/ufw.ts keeps the host's /etc/ufw untouched and restores it).
// iptables and ipset: a real knock opens 22 through ufw's deny, the close sequence closes
// it, and teardown leaves ufw's rules exactly as they were. nftables: a grant in knocktail's
// own table cannot open what ufw's INPUT drops, so setup refuses and names the backends
// that work. (firewalld is not installed here: its table is covered by the unit tests only.)
const TOOLS = [
  'ip',
  'iptables',
  'ip6tables',
  'iptables-save',
  'ip6tables-save',
  'ipset',
  'nft',
  'ufw',
  'unshare',
  'mount',
  'rsyslogd',
];

describeSystem('knocktail next to ufw', TOOLS, () => {
  describe.each(['iptables', 'ipset'] as const)('the %s backend', (backend) => {
    let live: LiveRig | undefined;
    let sandbox: UfwSandbox | undefined;
    let ufwOnly = '';

    beforeAll(async () => {
      live = await createLiveRig({
        backend,
        doors: [CLASSIC_DOOR],
        prepare: async (rig) => {
          sandbox = await createUfwSandbox(rig);
          await sandbox.enable();
          ufwOnly = await firewallSnapshot(rig);
        },
      });
      await live.startDaemon();
    }, 60_000);

    afterAll(async () => {
      await live?.destroy();
      await sandbox?.restore();
    }, 30_000);

    test('ufw is active in the namespace and denies incoming by default', async () => {
      const status = await sandbox!.ufw(['status', 'verbose']);
      expect(status.stdout).toContain('Status: active');
      expect(status.stdout).toContain('deny (incoming)');
    });

    test('rules and check-config report ufw and that the jump goes ahead of it', async () => {
      const rules = await live!.cli(['rules', '--config', live!.configPath]);
      const lines = rules.stdout.trimEnd().split('\n');
      // The `#` lines after the commands, found by their start (other lines may follow them).
      expect(lines.find((line) => line.startsWith('# host firewall:'))).toMatch(
        /^# host firewall: ufw \(table ip filter, chain INPUT, priority 0: policy drop\).*so grants open$/,
      );
      // Next to ufw's default deny the guard refuses in silence, as ufw does for every unused port.
      expect(lines.find((line) => line.startsWith('# refusal:'))).toMatch(
        /^# refusal: drop \(silent\), as for unused ports; auto: ufw /,
      );
      expect(lines.filter((line) => line.includes('REJECT'))).toEqual([]);
      const check = await live!.cli(['check-config', '--config', live!.configPath]);
      expect(check.exitCode).toBe(0);
      expect(check.stdout).toContain(`backend's jump goes into that INPUT chain ahead of it, so grants open`);
    });

    test('status says the guard refuses in silence, as ufw does with unused ports, and why', async () => {
      const status = await live!.cli(['status', '--config', live!.configPath]);
      expect(status.stdout).toMatch(
        /^Guard refusal: drop \(silent\), as for unused ports; auto: ufw \(table ip filter, chain INPUT, priority 0: policy drop\)/m,
      );
      const json = JSON.parse((await live!.cli(['status', '--json', '--config', live!.configPath])).stdout) as {
        refusal?: { refusal: string };
      };
      expect(json.refusal?.refusal).toBe('drop');
    });

    test('a knock opens 22 through ufw for the knocking client and the close sequence closes it', async () => {
      const { rig } = live!;
      expect(await rig.connect(rig.client, rig.serverV4, 22, 300)).toBe(false);
      expect(await live!.knockOpenAndClose(rig.serverV4)).toEqual({ opened: true, closed: true });
    }, 20_000);

    test("teardown leaves ufw's rules exactly as ufw made them", async () => {
      await live!.stopDaemon();
      const result = await live!.cli(['teardown', '--config', live!.configPath]);
      expect(result.exitCode).toBe(0);
      expect(await firewallSnapshot(live!.rig)).toEqual(ufwOnly);
      const status = await sandbox!.ufw(['status']);
      expect(status.stdout).toContain('Status: active');
    });

    test("the host's own /etc/ufw was never written", async () => {
      expect(await sandbox!.hostChanges()).toEqual([]);
    });
  });

  describe('the nftables backend', () => {
    let rig: Rig | undefined;
    let sandbox: UfwSandbox | undefined;
    let dir = '';
    let ufwOnly = '';
    let stopListener: (() => Promise<void>) | undefined;
    const cli = (args: readonly string[]) =>
      rig!.exec(rig!.server, [process.execPath, builtCli(), ...args, '--config', join(dir, 'config.json')]);

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'kt-ufw-nft-'));
      await writeFile(
        join(dir, 'config.json'),
        JSON.stringify({
          stateDir: join(dir, 'state'),
          logFile: join(dir, 'knocks.log'),
          auditLog: join(dir, 'audit.log'),
          firewall: { backend: 'nftables' },
          doors: [CLASSIC_DOOR],
        }),
      );
      rig = await createRig('ktufwnft');
      sandbox = await createUfwSandbox(rig);
      await sandbox.enable();
      ufwOnly = await firewallSnapshot(rig);
      stopListener = await rig.listen(rig.server, 22);
    }, 60_000);

    afterAll(async () => {
      await stopListener?.().catch(() => undefined);
      await rig?.destroy();
      await sandbox?.restore();
      if (dir) await rm(dir, { recursive: true, force: true });
    }, 30_000);

    test("a grant in knocktail's own nft table does not open 22 through ufw's deny (why setup refuses)", async () => {
      const backend = selectBackend(firewallConfig('nftables'), {
        runner: new ExecaRunner({ netns: rig!.server }),
        now: Date.now,
        sessions: false,
      });
      await backend.setup([sshDoor]);
      try {
        await backend.open(grantFor(rig!.clientV4, { until: Date.now() + 60_000 }));
        expect(await rig!.connect(rig!.client, rig!.serverV4, 22, 500)).toBe(false);
      } finally {
        await backend.teardown();
      }
      expect(await firewallSnapshot(rig!)).toEqual(ufwOnly);
    });

    test('setup refuses with an error that names ufw and the iptables and ipset backends, and adds nothing', async () => {
      const result = await cli(['setup']);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain('Refusing to set up the nftables backend');
      expect(result.stderr).toContain('ufw (table ip filter, chain INPUT, priority 0: policy drop)');
      expect(result.stderr).toContain('use "firewall": { "backend": "iptables" } or "ipset"');
      expect(await firewallSnapshot(rig!)).toEqual(ufwOnly);
    });

    test('the daemon refuses to start for the same reason', async () => {
      const result = await rig!.exec(
        rig!.server,
        [process.execPath, builtCli(), 'run', '--config', join(dir, 'config.json')],
        { timeoutMs: 15_000 },
      );
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain('Refusing to set up the nftables backend');
      expect(await firewallSnapshot(rig!)).toEqual(ufwOnly);
    });

    test('rules and check-config say that setup refuses', async () => {
      const rules = await cli(['rules']);
      expect(rules.stdout.split('\n').find((line) => line.startsWith('# host firewall:'))).toMatch(
        /^# host firewall: ufw .* drops what the nftables backend accepts; `knocktail setup` refuses: use "firewall"/,
      );
      const check = await cli(['check-config']);
      expect(check.exitCode).toBe(0);
      expect(check.stdout).toContain('`knocktail setup` refuses');
    });

    test("the host's own /etc/ufw was never written", async () => {
      expect(await sandbox!.hostChanges()).toEqual([]);
    });
  });

  describe('the nftables backend with ufw allowing the ports and hostFirewall "ignore" (the advice in the refusal)', () => {
    let live: LiveRig | undefined;
    let sandbox: UfwSandbox | undefined;

    beforeAll(async () => {
      live = await createLiveRig({
        backend: 'nftables',
        doors: [CLASSIC_DOOR],
        extra: { firewall: { backend: 'nftables', checkInterval: 5, hostFirewall: 'ignore' } },
        prepare: async (rig) => {
          sandbox = await createUfwSandbox(rig);
          await sandbox.enable();
          for (const port of ['22', '31600', '31601']) {
            const result = await sandbox.ufw(['allow', `${port}/tcp`]);
            if (result.exitCode !== 0) throw new Error(`ufw allow ${port}/tcp failed: ${result.stderr}`);
          }
        },
      });
      await live.startDaemon();
    }, 60_000);

    afterAll(async () => {
      await live?.destroy();
      await sandbox?.restore();
    }, 30_000);

    test("knocktail's guard still hides 22 that ufw allows, a knock opens it and the close sequence closes it", async () => {
      const { rig } = live!;
      expect(await rig.connect(rig.client, rig.serverV4, 22, 300)).toBe(false);
      expect(await live!.knockOpenAndClose(rig.serverV4)).toEqual({ opened: true, closed: true });
    }, 20_000);

    test("the host's own /etc/ufw was never written", async () => {
      expect(await sandbox!.hostChanges()).toEqual([]);
    });
  });
});
