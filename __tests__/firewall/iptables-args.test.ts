import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { normaliseAddress } from '../../src/model/address.js';
import { buildGrantRuleSpec, buildGrantRuleText } from '../../src/firewall/iptables-args.js';
import { formatRestoreLine } from '../../src/firewall/restore-text.js';
import type { Grant } from '../../src/model/grant.js';
import { grantFor } from './fixtures.js';

const source = fc.oneof(fc.ipV4(), fc.ipV6()).map((text) => normaliseAddress(text)!);
const grant = fc.record({
  address: source,
  door: fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,15}$/),
  until: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 2 ** 45 })),
  proto: fc.constantFrom('tcp' as const, 'udp' as const),
  port: fc.integer({ min: 1, max: 65535 }),
});

describe('buildGrantRuleText', () => {
  test('is the restore text of buildGrantRuleSpec, for any grant and port', () => {
    fc.assert(
      fc.property(grant, ({ address, door, until, proto, port }) => {
        const g: Grant = grantFor(address.text, { door, family: address.family, until, ports: [{ proto, port }] });
        expect(buildGrantRuleText(g, g.ports[0]!)).toBe(formatRestoreLine(buildGrantRuleSpec(g, g.ports[0]!)));
      }),
    );
  });

  test('refuses what buildGrantRuleSpec refuses', () => {
    const bad = grantFor('198.51.100.7 -j DROP');
    expect(() => buildGrantRuleText(bad, bad.ports[0]!)).toThrow('normalised IPv4');
    const door = grantFor('198.51.100.7', { door: 'a"b' });
    expect(() => buildGrantRuleText(door, door.ports[0]!)).toThrow('door name');
  });
});
