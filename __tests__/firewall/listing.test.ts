import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSetListing, parseSetPorts } from '../../src/firewall/ipset-listing.js';
import { parseGrantListing, splitRuleLine } from '../../src/firewall/iptables-listing.js';
import { parseNftListing } from '../../src/firewall/nft-listing.js';
import { parseGrantComment } from '../../src/firewall/grant-comment.js';

// Listings captured from the real tools (iptables-nft 1.8.9, ipset 7.17, nftables 1.0.6).
const here = dirname(fileURLToPath(import.meta.url));
const listing = (name: string): string => readFileSync(join(here, 'listings', name), 'utf8');
const NOW = 1_700_000_000_000;

describe('reading grants back from the firewall', () => {
  test('iptables -S comments give door, source, ports and expiry; foreign rules are skipped and an interrupted refresh keeps the later expiry', () => {
    expect(parseGrantListing(listing('iptables-S.txt'), 4, NOW)).toEqual([
      {
        door: 'ssh',
        src: '198.51.100.2',
        family: 4,
        ports: [{ proto: 'tcp', port: 22 }],
        openedAt: NOW,
        until: 1_790_000_060_000,
      },
      {
        door: 'web',
        src: '203.0.113.9',
        family: 4,
        ports: [
          { proto: 'tcp', port: 80 },
          { proto: 'tcp', port: 443 },
        ],
        openedAt: NOW,
        until: null,
      },
    ]);
  });

  test('ip6tables -S gives IPv6 grants with the prefix length stripped', () => {
    expect(parseGrantListing(listing('ip6tables-S.txt'), 6, NOW)).toEqual([
      {
        door: 'ssh',
        src: '2001:db8:1::2',
        family: 6,
        ports: [{ proto: 'tcp', port: 22 }],
        openedAt: NOW,
        until: 1_790_000_000_000,
      },
    ]);
  });

  test('ipset save gives members with their remaining timeouts, and the match-set rules give their ports', () => {
    const ports = parseSetPorts(listing('ipset-iptables-S.txt'));
    for (const [set, list] of parseSetPorts(listing('ipset-ip6tables-S.txt'))) ports.set(set, list);
    expect(parseSetListing(listing('ipset-save.txt'), ports, NOW)).toEqual([
      {
        door: 'ssh',
        src: '198.51.100.2',
        family: 4,
        ports: [{ proto: 'tcp', port: 22 }],
        openedAt: NOW,
        until: NOW + 3_599_000,
      },
      { door: 'ssh', src: '2001:db8:1::2', family: 6, ports: [{ proto: 'tcp', port: 22 }], openedAt: NOW, until: null },
      {
        door: 'web',
        src: '203.0.113.9',
        family: 4,
        ports: [
          { proto: 'tcp', port: 80 },
          { proto: 'tcp', port: 443 },
        ],
        openedAt: NOW,
        until: NOW + 119_000,
      },
    ]);
  });

  test('nft -j list gives set elements with their expiry and the ports of the rules that use each set', () => {
    expect(parseNftListing(listing('nft-list.json'), NOW)).toEqual([
      {
        door: 'ssh',
        src: '198.51.100.2',
        family: 4,
        ports: [{ proto: 'tcp', port: 22 }],
        openedAt: NOW,
        until: NOW + 3_599_000,
      },
      { door: 'ssh', src: '2001:db8:1::2', family: 6, ports: [{ proto: 'tcp', port: 22 }], openedAt: NOW, until: null },
    ]);
  });

  test('quoted comments are one word and other comments are not grants', () => {
    expect(splitRuleLine('-A X -m comment --comment "a b \\"c\\"" -j ACCEPT')).toEqual([
      '-A',
      'X',
      '-m',
      'comment',
      '--comment',
      'a b "c"',
      '-j',
      'ACCEPT',
    ]);
    expect(parseGrantComment('admin rule')).toBeUndefined();
    expect(parseGrantComment('knocktail door=ssh until=soon')).toBeUndefined();
  });
});
