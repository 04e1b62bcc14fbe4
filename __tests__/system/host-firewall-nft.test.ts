import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtCli } from './support/built-cli.js';
import { CLASSIC_DOOR } from './support/live-rig.js';
import { createRig, type Rig } from './support/netns.js';
import { describeSystem } from './support/requirements.js';
import { firewallSnapshot } from './support/firewall-snapshot.js';

// A hand-written nftables ruleset with `policy drop` (the admin's own table `inet filter`,
// which accepts ssh for everyone). No knocktail backend can open a port through another
// table's drop, so setup refuses for each of them and adds nothing; the admin's rules stay.
const RULESET = `table inet filter {
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iif "lo" accept
  }
}
`;

describeSystem(
  'knocktail next to a hand-written nftables ruleset with policy drop',
  ['ip', 'iptables', 'ip6tables', 'iptables-save', 'ip6tables-save', 'ipset', 'nft'],
  () => {
    let rig: Rig | undefined;
    let dir = '';
    let before = '';

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'kt-nftdrop-'));
      rig = await createRig('ktnftdrop');
      const loaded = await rig.exec(rig.server, ['nft', '-f', '-'], { input: RULESET });
      if (loaded.exitCode !== 0) throw new Error(`nft -f failed: ${loaded.stderr}`);
      before = await firewallSnapshot(rig);
    }, 30_000);

    afterAll(async () => {
      await rig?.destroy();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    test.each(['iptables', 'ipset', 'nftables'] as const)(
      'setup with the %s backend refuses, names the table, and adds nothing',
      async (backend) => {
        const config = join(dir, `${backend}.json`);
        await writeFile(
          config,
          JSON.stringify({ stateDir: join(dir, backend), firewall: { backend }, doors: [CLASSIC_DOOR] }),
        );
        const result = await rig!.exec(rig!.server, [process.execPath, builtCli(), 'setup', '--config', config]);
        expect(result.exitCode).toBe(1);
        expect(result.stderr).toContain(`Refusing to set up the ${backend} backend`);
        expect(result.stderr).toContain('nftables ruleset (table inet filter, chain input, priority 0: policy drop)');
        expect(result.stderr).toContain("knocktail cannot override another table's drop with any backend");
        expect(await firewallSnapshot(rig!)).toEqual(before);
      },
    );
  },
);
