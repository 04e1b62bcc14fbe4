import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseIptablesNat, parseNftNat } from '../../src/firewall/dnat-rules.js';
import type { DnatRule } from '../../src/firewall/dnat-rules.js';

// Listings captured from a real Docker (docker.io 20.10, iptables-nft 1.8.9) and nftables 1.0.6.
const here = dirname(fileURLToPath(import.meta.url));
const listing = (name: string): string => readFileSync(join(here, 'listings', name), 'utf8');
const withoutOrigin = (rule: DnatRule): Omit<DnatRule, 'origin'> =>
  Object.fromEntries(Object.entries(rule).filter(([key]) => key !== 'origin')) as Omit<DnatRule, 'origin'>;

describe('reading DNAT rules from the iptables nat table', () => {
  test("Docker's published port is one tcp DNAT to the container, on every address", () => {
    expect(parseIptablesNat(listing('docker-nat-v4.txt'), 4)).toEqual([
      {
        family: 4,
        proto: 'tcp',
        ports: [[8080, 8080]],
        local: false,
        origin: 'iptables nat DOCKER: ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 203.0.113.2:80',
      },
    ]);
  });

  test('with --ip6tables the IPv6 DNAT is read from ip6tables', () => {
    const [rule] = parseIptablesNat(listing('docker-nat-v6.txt'), 6);
    expect(rule).toMatchObject({ family: 6, proto: 'tcp', ports: [[8080, 8080]], local: false });
    expect(rule!.origin).toMatch(/^ip6tables nat DOCKER: /);
  });

  test('a destination address, port lists and ranges, negation and REDIRECT are read; OUTPUT and other targets are not', () => {
    const text = [
      '-A PREROUTING -d 198.51.100.1/32 -p tcp -m multiport --dports 8080,9000:9010 -j DNAT --to-destination 203.0.113.2',
      '-A PREROUTING -p udp -m udp ! --dport 53 -j DNAT --to-destination 203.0.113.3',
      '-A PREROUTING -p tcp -m tcp --dport 8443 -j REDIRECT --to-ports 443',
      '-A PREROUTING -p tcp -m tcp --dport 2222 -j DNAT --to-destination 127.0.0.1:22',
      '-A PREROUTING -j DNAT --to-destination 203.0.113.4',
      '-A OUTPUT -p tcp --dport 8080 -j DNAT --to-destination 203.0.113.2:80',
      '-A POSTROUTING -s 203.0.113.0/24 -j MASQUERADE',
      '-A DOCKER -i docker0 -j RETURN',
    ].join('\n');
    const rules = parseIptablesNat(text, 4);
    expect(rules.map(withoutOrigin)).toEqual([
      {
        family: 4,
        proto: 'tcp',
        ports: [
          [8080, 8080],
          [9000, 9010],
        ],
        addresses: ['198.51.100.1'],
        local: false,
      },
      { family: 4, proto: 'udp', ports: [[53, 53]], negated: true, local: false },
      { family: 4, proto: 'tcp', ports: [[8443, 8443]], local: true },
      { family: 4, proto: 'tcp', ports: [[2222, 2222]], local: true },
      { family: 4, local: false },
    ]);
  });

  test('an empty or foreign listing holds no rule', () => {
    expect(parseIptablesNat('', 4)).toEqual([]);
    expect(parseIptablesNat('garbage\n-A\n-A X -j DNAT', 4)).toEqual([
      { family: 4, local: false, origin: 'iptables nat X: -j DNAT' },
    ]);
  });
});

describe('reading DNAT rules from nftables', () => {
  test('dnat and redirect statements of prerouting chains are read, the output hook is not', () => {
    const rules = parseNftNat(listing('nft-nat.json'));
    expect(rules.map(withoutOrigin)).toEqual([
      { family: 4, proto: 'tcp', ports: [[8080, 8080]], local: false },
      {
        family: 4,
        proto: 'tcp',
        ports: [
          [8443, 8443],
          [9000, 9010],
        ],
        addresses: ['198.51.100.1'],
        local: false,
      },
      { family: 6, proto: 'tcp', ports: [[8080, 8080]], local: false },
      { family: 4, proto: 'tcp', ports: [[2222, 2222]], local: true },
      { family: 6, proto: 'tcp', ports: [[2222, 2222]], local: true },
    ]);
    expect(rules[0]!.origin).toBe('nft inet pub pre tcp dport 8080');
  });

  test('iptables-nft rules (an xt DNAT target) are left to the iptables listing; bad JSON holds none', () => {
    const xt = {
      nftables: [
        {
          rule: {
            family: 'ip',
            table: 'nat',
            chain: 'DOCKER',
            expr: [
              { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 8080 } },
              { xt: { type: 'target', name: 'DNAT' } },
            ],
          },
        },
      ],
    };
    expect(parseNftNat(JSON.stringify(xt))).toEqual([]);
    expect(parseNftNat('{not json')).toEqual([]);
    expect(parseNftNat('[]')).toEqual([]);
  });
});
