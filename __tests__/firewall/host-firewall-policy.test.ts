import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendName } from '../../src/config/types.js';
import { detectHostFirewall } from '../../src/firewall/host-firewall.js';
import type { BlockingChain } from '../../src/firewall/host-firewall.js';
import { describeHostFirewall, hostFirewallError, judgeHostFirewall } from '../../src/firewall/host-firewall-policy.js';

function blockingOf(name: string): readonly BlockingChain[] {
  const scan = detectHostFirewall(
    readFileSync(join(process.cwd(), '__tests__', 'fixtures', 'host-firewall', `${name}.json`), 'utf8'),
  );
  if (!scan.ok) throw new Error(scan.reason);
  return scan.blocking;
}

const kinds = (name: string, backend: BackendName): string => judgeHostFirewall(blockingOf(name), backend).kind;

describe('judgeHostFirewall', () => {
  test('next to ufw the iptables and ipset backends integrate and the nftables backend is blocked', () => {
    expect(kinds('ufw', 'iptables')).toBe('integrated');
    expect(kinds('ufw', 'ipset')).toBe('integrated');
    expect(kinds('ufw', 'nftables')).toBe('blocked');
  });

  test("another table's default deny blocks every backend", () => {
    for (const name of ['policy-drop', 'jump-drop', 'firewalld-like']) {
      for (const backend of ['iptables', 'ipset', 'nftables'] as const) expect(kinds(name, backend)).toBe('blocked');
    }
  });

  test('a host without a default deny, and the dry-run backend, are clear', () => {
    expect(kinds('benign', 'nftables')).toBe('clear');
    expect(kinds('firewalld-like', 'dry-run')).toBe('clear');
  });
});

describe('hostFirewallError', () => {
  test('the nftables refusal next to ufw names ufw and the backends that work there', () => {
    const verdict = judgeHostFirewall(blockingOf('ufw'), 'nftables');
    if (verdict.kind !== 'blocked') throw new Error('expected blocked');
    const error = hostFirewallError(verdict, 'nftables');
    expect(error.code).toBe('HOST_FIREWALL');
    expect(error.message).toContain('Refusing to set up the nftables backend');
    expect(error.message).toContain('ufw (table ip filter, chain INPUT, priority 0: policy drop)');
    expect(error.message).toContain('use "firewall": { "backend": "iptables" } or "ipset"');
    expect(error.message).toContain("ahead of ufw's rules");
  });

  test('the refusal next to another nftables table says no backend overrides it and how to go ahead', () => {
    const verdict = judgeHostFirewall(blockingOf('policy-drop'), 'iptables');
    if (verdict.kind !== 'blocked') throw new Error('expected blocked');
    const message = hostFirewallError(verdict, 'iptables').message;
    expect(message).toContain('table inet filter, chain input');
    expect(message).toContain("knocktail cannot override another table's drop with any backend");
    expect(message).toContain('"hostFirewall": "ignore"');
  });
});

describe('describeHostFirewall', () => {
  test('says what was found and what it means for the backend', () => {
    expect(describeHostFirewall(judgeHostFirewall(blockingOf('ufw'), 'iptables'), 'iptables')).toBe(
      "host firewall: ufw (table ip filter, chain INPUT, priority 0: policy drop); ufw (table ip6 filter, chain INPUT, priority 0: policy drop); the iptables backend's jump goes into that INPUT chain ahead of it, so grants open",
    );
    expect(describeHostFirewall(judgeHostFirewall([], 'nftables'), 'nftables')).toBe(
      'host firewall: no other input chain drops by default; grants open as they are',
    );
    expect(describeHostFirewall(judgeHostFirewall(blockingOf('ufw'), 'nftables'), 'nftables')).toMatch(
      /drops what the nftables backend accepts; `knocktail setup` refuses: use "firewall"/,
    );
    expect(
      describeHostFirewall(judgeHostFirewall(blockingOf('ufw'), 'nftables'), 'nftables', { ignored: true }),
    ).toMatch(/firewall.hostFirewall is "ignore", so setup goes ahead/);
  });
});
