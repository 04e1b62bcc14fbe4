import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectHostFirewall, formatBlockingChain } from '../../src/firewall/host-firewall.js';

// Real `nft -j list ruleset` captures (see __tests__/fixtures/host-firewall/README.md).
const capture = (name: string): string =>
  readFileSync(join(process.cwd(), '__tests__', 'fixtures', 'host-firewall', `${name}.json`), 'utf8');

function blocking(name: string): string[] {
  const scan = detectHostFirewall(capture(name));
  if (!scan.ok) throw new Error(scan.reason);
  return scan.blocking.map(formatBlockingChain);
}

describe('detectHostFirewall', () => {
  test("real ufw is found as iptables-nft's INPUT with policy drop, for IPv4 and IPv6", () => {
    expect(blocking('ufw')).toEqual([
      'ufw (table ip filter, chain INPUT, priority 0: policy drop)',
      'ufw (table ip6 filter, chain INPUT, priority 0: policy drop)',
    ]);
  });

  test('a hand-written ruleset with policy drop is an nftables default deny', () => {
    expect(blocking('policy-drop')).toEqual([
      'nftables ruleset (table inet filter, chain input, priority 0: policy drop)',
    ]);
  });

  test('a catch-all drop in a chain the input chain jumps to counts, though the policy is accept', () => {
    expect(blocking('jump-drop')).toEqual([
      'nftables ruleset (table ip edge, chain input, priority 5: catch-all drop in chain wan)',
    ]);
  });

  test("firewalld's table is found by its final catch-all reject", () => {
    expect(blocking('firewalld-like')).toEqual([
      'firewalld (table inet firewalld, chain filter_INPUT, priority 10: catch-all reject in chain filter_INPUT)',
    ]);
  });

  test("source- or port-specific drops, policy-accept chains, nat chains and knocktail's own table are not a default deny", () => {
    expect(blocking('benign')).toEqual([]);
  });

  test('plain iptables with policy DROP and no ufw chains is named iptables', () => {
    const json = JSON.stringify({
      nftables: [
        {
          chain: {
            family: 'ip',
            table: 'filter',
            name: 'INPUT',
            type: 'filter',
            hook: 'input',
            prio: 0,
            policy: 'drop',
          },
        },
      ],
    });
    expect(detectHostFirewall(json)).toEqual({
      ok: true,
      blocking: [
        { kind: 'iptables', family: 'ip', table: 'filter', chain: 'INPUT', priority: 0, reason: 'policy drop' },
      ],
    });
  });

  test('chains come out in hook order, and a jump loop ends', () => {
    const json = JSON.stringify({
      nftables: [
        {
          chain: { family: 'inet', table: 'late', name: 'in', type: 'filter', hook: 'input', prio: 20, policy: 'drop' },
        },
        {
          chain: {
            family: 'inet',
            table: 'loop',
            name: 'in',
            type: 'filter',
            hook: 'input',
            prio: -5,
            policy: 'accept',
          },
        },
        { chain: { family: 'inet', table: 'loop', name: 'a' } },
        { rule: { family: 'inet', table: 'loop', chain: 'in', expr: [{ jump: { target: 'a' } }] } },
        { rule: { family: 'inet', table: 'loop', chain: 'a', expr: [{ jump: { target: 'in' } }] } },
        {
          rule: {
            family: 'inet',
            table: 'loop',
            chain: 'a',
            expr: [{ counter: null }, { log: { prefix: 'x' } }, { reject: null }],
          },
        },
      ],
    });
    const scan = detectHostFirewall(json);
    expect(scan.ok && scan.blocking.map((chain) => [chain.table, chain.reason])).toEqual([
      ['loop', 'catch-all reject in chain a'],
      ['late', 'policy drop'],
    ]);
  });

  test('output that is not an nft JSON listing is reported, not thrown', () => {
    expect(detectHostFirewall('Error: Operation not permitted')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('not JSON'),
    });
    expect(detectHostFirewall('{"tables": []}')).toEqual({
      ok: false,
      reason: 'expected an object with an "nftables" array',
    });
    expect(detectHostFirewall('{"nftables": [null, 1, {"chain": {"name": 3}}]}')).toEqual({ ok: true, blocking: [] });
  });
});
