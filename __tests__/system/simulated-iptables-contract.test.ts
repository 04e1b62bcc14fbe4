import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { FirewallBackend } from '../../src/firewall/backend.js';
import { ExecaRunner } from '../../src/firewall/command-runner.js';
import { buildGrantRuleSpec } from '../../src/firewall/iptables-args.js';
import { SimulatedFirewall } from '../../src/firewall/simulated-firewall.js';
import type { Grant } from '../../src/model/grant.js';
import { grantFor } from '../firewall/fixtures.js';
import { createRig, type Rig } from './support/netns.js';
import { describeSystem } from './support/requirements.js';
import { applyBoth, contractSide, everydayChanges, type Runner, type Side } from './support/simulator-contract.js';

// Replay and dry-run run the iptables backend against SimulatedFirewall instead of the tools.
// This runs the same backend calls against real iptables/ip6tables in a namespace and against
// the simulator, and asks that the backend cannot tell them apart: the same commands issued
// (one-shot and session lines), the same grants listed back, the same exit codes for the
// checks and failures a backend meets (-C of a held and a gone rule, -N of an existing chain,
// a restore that deletes a missing rule, a listing of a missing chain).
describeSystem(
  'the simulated iptables against the real one',
  ['ip', 'iptables', 'ip6tables', 'iptables-restore', 'ip6tables-restore'],
  () => {
    let rig: Rig;
    let real: Side;
    let simulated: Side;
    const now = Date.now();
    const side = (inner: Runner): Side => contractSide('iptables', inner, now);
    // Both answers for the same command; the simulator answers exit codes, not the tools' wording.
    const both = async (argv: readonly string[], input?: string): Promise<[number, number]> => {
      const options = input === undefined ? {} : { input };
      const answer = async (runner: Runner): Promise<number> => (await runner.run(argv, options)).exitCode;
      return [await answer(real.runner), await answer(simulated.runner)];
    };
    const lists = async (): Promise<[Grant[], Grant[]]> => [await real.backend.list(), await simulated.backend.list()];
    const apply = (change: (backend: FirewallBackend) => Promise<void>): Promise<void> =>
      applyBoth(real, simulated, change);
    // A listing is compared as the grants it gives back: iptables writes rules in its own
    // canonical form (`-s 198.51.100.7/32`, `-m tcp`), the simulator as they were added, and the
    // backend deletes a listed rule by the words it was listed with (so commands after a list()
    // differ in those words).
    const sameGrants = async (): Promise<Grant[]> => {
      const [fromReal, fromSimulated] = await lists();
      expect(fromSimulated).toEqual(fromReal);
      return fromReal;
    };

    const spec = (grant: Grant): string[] => buildGrantRuleSpec(grant, grant.ports[0]!);
    // One iptables-restore transaction of grant rule lines, e.g. transaction(['-D', grant]).
    const transaction = (...lines: (readonly ['-A' | '-D', Grant])[]): string =>
      `*filter\n${lines
        .map(
          ([op, grant]) =>
            `${op} KNOCKTAIL ${spec(grant)
              .map((word) => (word.includes(' ') ? `"${word}"` : word))
              .join(' ')}\n`,
        )
        .join('')}COMMIT\n`;

    beforeAll(async () => {
      rig = await createRig('ktsimipt');
      real = side(new ExecaRunner({ netns: rig.server }));
      simulated = side(new SimulatedFirewall({ now: () => now }));
    });

    afterAll(async () => {
      await (real as Side | undefined)?.backend.stop?.();
      await (rig as Rig | undefined)?.destroy();
    });

    test('setup, opens, a refresh, a repeated open, a close and a reopen issue the same commands, and list the same grants', async () => {
      const { v4, v6, untilClosed } = await everydayChanges(real, simulated, now);
      expect(simulated.log).toEqual(real.log);
      expect(real.log.length).toBeGreaterThan(8);
      // A refresh appends its new rule: the refreshed grant is listed after the until-closed one.
      expect((await sameGrants()).map((grant) => [grant.door, grant.src, grant.until])).toEqual([
        ['ssh', '198.51.100.8', null],
        ['ssh', '198.51.100.7', v4.until! + 30_000],
        ['web', '2001:db8::7', v6.until],
      ]);
      await apply((backend) => backend.close(v6));
      await apply((backend) => backend.close(untilClosed));
      await sameGrants();
    });

    test('checks and failures get the same exit codes', async () => {
      const held = grantFor('198.51.100.7', { until: now + 90_000 });
      const gone = grantFor('198.51.100.7', { until: now + 60_000 });
      expect(await both(['iptables', '-w', '-C', 'KNOCKTAIL', ...spec(held)])).toEqual([0, 0]);
      expect(await both(['iptables', '-w', '-C', 'KNOCKTAIL', ...spec(gone)])).toEqual([1, 1]);
      expect(await both(['iptables', '-w', '-N', 'KNOCKTAIL'])).toEqual([1, 1]);
      expect(await both(['iptables', '-w', '-S', 'NOPE'])).toEqual([1, 1]);
      const [realDelete, simulatedDelete] = await both(
        ['iptables-restore', '-w', '--noflush'],
        transaction(['-D', gone]),
      );
      expect(realDelete).not.toBe(0);
      expect(simulatedDelete).not.toBe(0);
      await apply((backend) => backend.close(held));
      expect(await sameGrants()).toEqual([]);
      expect(await both(['iptables', '-w', '-C', 'KNOCKTAIL', ...spec(held)])).toEqual([1, 1]);
    });

    test('a transaction whose last line fails applies none of its lines, on both', async () => {
      const added = grantFor('198.51.100.9', { until: now + 60_000 });
      const gone = grantFor('198.51.100.10', { until: now + 60_000 });
      const [realFailed, simulatedFailed] = await both(
        ['iptables-restore', '-w', '--noflush'],
        transaction(['-A', added], ['-D', gone]),
      );
      expect(realFailed).not.toBe(0);
      expect(simulatedFailed).not.toBe(0);
      expect(await both(['iptables', '-w', '-C', 'KNOCKTAIL', ...spec(added)])).toEqual([1, 1]);
      expect(await sameGrants()).toEqual([]);
    });

    test('teardown leaves both without the chains', async () => {
      await apply((backend) => backend.teardown());
      await sameGrants();
      expect(await both(['iptables', '-w', '-S', 'KNOCKTAIL'])).toEqual([1, 1]);
      expect(await both(['ip6tables', '-w', '-S', 'KNOCKTAIL-GUARD'])).toEqual([1, 1]);
    });
  },
);
