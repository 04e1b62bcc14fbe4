import { describe, expect, test } from '@jest/globals';
import { buildGuardRuleSpecs } from '../../src/firewall/guard-args.js';
import { buildLogTargetArgs, buildNftLogStatement, selectLogAction } from '../../src/firewall/log-action.js';
import { buildNftSetupStatements } from '../../src/firewall/nft-args.js';
import { selectBackend } from '../../src/firewall/select-backend.js';
import { SimulatedFirewall } from '../../src/firewall/simulated-firewall.js';
import { pingDoor, sshDoor } from './fixtures.js';

const nflog = { kind: 'nflog', prefix: 'knocktail: ', group: 7 } as const;
const NFLOG = ['-j', 'NFLOG', '--nflog-group', '7', '--nflog-prefix', 'knocktail: ', '--nflog-threshold', '1'];
const options = { logPrefix: 'knocktail: ', logRateLimit: '20/second', inputPosition: 1 };

describe('the log action (LOG or NFLOG) of the guard', () => {
  test('the source picks it: NFLOG to nflog.group for "nflog", LOG with the prefix otherwise', () => {
    expect(selectLogAction({ source: 'nflog', logPrefix: 'kt: ', nflog: { group: 42 } })).toEqual({
      kind: 'nflog',
      prefix: 'kt: ',
      group: 42,
    });
    expect(selectLogAction({ source: 'file', logPrefix: 'kt: ', nflog: { group: 42 } })).toEqual({
      kind: 'log',
      prefix: 'kt: ',
    });
    expect(selectLogAction({ source: 'kmsg', logPrefix: 'kt: ', nflog: { group: 42 } })).toEqual({
      kind: 'log',
      prefix: 'kt: ',
    });
  });

  test('iptables: NFLOG with the group, the prefix and a queue threshold of one packet; LOG as before', () => {
    expect(buildLogTargetArgs(nflog)).toEqual(NFLOG);
    expect(buildLogTargetArgs({ kind: 'log', prefix: 'knocktail: ' })).toEqual([
      '-j',
      'LOG',
      '--log-prefix',
      'knocktail: ',
    ]);
  });

  test('nft: log with group and queue-threshold (the syntax nft 1.0.6 lists back)', () => {
    expect(buildNftLogStatement(nflog, '"knocktail: "')).toBe('log prefix "knocktail: " group 7 queue-threshold 1');
    expect(buildNftLogStatement({ kind: 'log', prefix: 'x' }, '"x"')).toBe('log prefix "x"');
  });

  test('every rule that logged with LOG tags with NFLOG instead, in the same place, and nothing else changes', () => {
    for (const family of [4, 6] as const) {
      const log = buildGuardRuleSpecs([sshDoor, pingDoor], family, options);
      const tagged = buildGuardRuleSpecs([sshDoor, pingDoor], family, { ...options, logAction: nflog });
      expect(tagged).toHaveLength(log.length);
      const logged = log.filter((spec) => spec.includes('LOG'));
      expect(logged.length).toBeGreaterThan(0);
      expect(tagged.filter((spec) => spec.includes('LOG'))).toEqual([]);
      expect(tagged).toEqual(
        log.map((spec) => (spec.includes('LOG') ? [...spec.slice(0, spec.indexOf('-j')), ...NFLOG] : spec)),
      );
    }
  });

  test('the nftables guard tags with log group in every statement that logged', () => {
    const log = buildNftSetupStatements([sshDoor, pingDoor], options);
    const tagged = buildNftSetupStatements([sshDoor, pingDoor], { ...options, logAction: nflog });
    expect(tagged).toEqual(
      log.map((line) => line.replace('log prefix "knocktail: "', 'log prefix "knocktail: " group 7 queue-threshold 1')),
    );
    expect(tagged.filter((line) => line.includes('group 7 queue-threshold 1'))).toHaveLength(
      log.filter((line) => line.includes('log prefix')).length,
    );
  });

  test.each(['iptables', 'ipset', 'nftables', 'dry-run'] as const)(
    'the %s backend (and the simulator replay runs it on) sets up NFLOG rules',
    async (backend) => {
      const config = {
        backend,
        inputPosition: 1,
        logRateLimit: '20/second',
        checkInterval: 60,
        retries: 0,
        logPrefix: 'knocktail: ',
        logAction: nflog,
      };
      const described = selectBackend(config, {
        runner: new SimulatedFirewall({ now: () => 0 }),
        now: () => 0,
        sessions: false,
      }).describeSetup([sshDoor]);
      const text = described.map((argv) => argv.join(' ')).join('\n');
      expect(text).toContain(
        backend === 'nftables'
          ? 'log prefix "knocktail: " group 7 queue-threshold 1'
          : '-j NFLOG --nflog-group 7 --nflog-prefix knocktail:  --nflog-threshold 1',
      );
      expect(text).not.toMatch(/-j LOG|log prefix "knocktail: "(?! group)/);
      // The simulator accepts the setup as the real tool does.
      const simulated = new SimulatedFirewall({ now: () => 0 });
      await selectBackend(config, { runner: simulated, now: () => 0, sessions: false }).setup([sshDoor]);
    },
  );
});
