import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ExecaRunner } from '../../src/firewall/command-runner.js';
import type { FirewallBackend } from '../../src/firewall/backend.js';
import { SimulatedFirewall } from '../../src/firewall/simulated-firewall.js';
import type { Grant } from '../../src/model/grant.js';
import { createRig, type Rig } from './support/netns.js';
import { describeSystem } from './support/requirements.js';
import { applyBoth, contractSide, everydayChanges, type Side } from './support/simulator-contract.js';

// As simulated-iptables-contract.test.ts, for the set backends: the ipset backend (ipset's
// session, plus iptables for the guard) and nftables (nft -f and nft's session) against the
// real tools in a namespace and against SimulatedFirewall, which replay and dry-run use. The
// backend must not be able to tell them apart: the same commands and session lines, in the
// same order, and the same grants listed back.
const CASES = [
  { backend: 'ipset', tools: ['ip', 'ipset', 'iptables', 'ip6tables', 'iptables-restore', 'ip6tables-restore'] },
  { backend: 'nftables', tools: ['ip', 'nft'] },
] as const;

for (const { backend, tools } of CASES) {
  describeSystem(`the simulated ${backend} tools against the real ones`, tools, () => {
    let rig: Rig;
    let real: Side;
    let simulated: Side;
    const now = Date.now();
    const apply = (change: (backend: FirewallBackend) => Promise<void>): Promise<void> =>
      applyBoth(real, simulated, change);
    // Sets hold no order (nft lists its elements its own way), and the kernel counts a
    // timeout down in real time while both backends read it back against the test's fixed
    // `now`: the real side's `until` may be up to a few seconds early, never late.
    const sameGrants = async (): Promise<Grant[]> => {
      const sorted = (grants: readonly Grant[]): Grant[] =>
        [...grants].sort((a, b) => `${a.door} ${a.src}`.localeCompare(`${b.door} ${b.src}`));
      const fromReal = sorted(await real.backend.list());
      const fromSimulated = sorted(await simulated.backend.list());
      const withoutUntil = (grants: readonly Grant[]): Omit<Grant, 'until'>[] =>
        grants.map((grant) => ({ ...grant, until: undefined }));
      expect(withoutUntil(fromSimulated)).toEqual(withoutUntil(fromReal));
      fromReal.forEach((grant, index) => {
        const expected = fromSimulated[index]!.until;
        if (expected === null || grant.until === null) {
          expect(grant.until).toBe(expected);
          return;
        }
        expect(expected - grant.until).toBeGreaterThanOrEqual(0);
        expect(expected - grant.until).toBeLessThan(5_000);
      });
      return fromReal;
    };

    beforeAll(async () => {
      rig = await createRig(`ktsim${backend.slice(0, 3)}`);
      real = contractSide(backend, new ExecaRunner({ netns: rig.server }), now);
      simulated = contractSide(backend, new SimulatedFirewall({ now: () => now }), now);
    });

    afterAll(async () => {
      await (real as Side | undefined)?.backend.teardown().catch(() => undefined);
      await (real as Side | undefined)?.backend.stop?.();
      await (simulated as Side | undefined)?.backend.stop?.();
      await (rig as Rig | undefined)?.destroy();
    });

    describe(backend, () => {
      test('setup, opens, a refresh, a repeated open, a close and a reopen issue the same commands, and list the same grants', async () => {
        const { v6, untilClosed } = await everydayChanges(real, simulated, now);
        expect(simulated.log).toEqual(real.log);
        expect(real.log.length).toBeGreaterThan(4);
        const listed = await sameGrants();
        expect(listed.map((grant) => grant.src).sort()).toEqual(['198.51.100.7', '198.51.100.8', '2001:db8::7']);
        await apply((fw) => fw.close(v6));
        await apply((fw) => fw.close(untilClosed));
        expect((await sameGrants()).map((grant) => grant.src)).toEqual(['198.51.100.7']);
      });

      test('teardown leaves both without their tables and sets', async () => {
        await apply((fw) => fw.teardown());
        expect(await sameGrants()).toEqual([]);
        expect(simulated.log).toEqual(real.log);
      });
    });
  });
}
