import { describe, expect, test } from '@jest/globals';
import { addressInAny, normaliseKernelAddress, parseCidr } from '../src/model/address.js';

describe('allowFrom families', () => {
  test('an IPv4 CIDR never matches an IPv6 address, the IPv4-mapped form of one of its addresses included', () => {
    const v4 = [parseCidr('203.0.113.0/24')!];
    expect(addressInAny({ text: '203.0.113.9', family: 4 }, v4)).toBe(true);
    expect(addressInAny({ text: '::ffff:203.0.113.9', family: 6 }, v4)).toBe(false);
    expect(addressInAny({ text: '::ffff:cb00:7109', family: 6 }, v4)).toBe(false);
  });

  test('answers the same for an address seen again, also after thousands of others', () => {
    const net = [parseCidr('2001:db8::/32')!];
    const inside = { text: '2001:db8::9', family: 6 } as const;
    const outside = { text: '2001:db9::9', family: 6 } as const;
    for (let round = 0; round < 3; round++) {
      expect([addressInAny(inside, net), addressInAny(outside, net)]).toEqual([true, false]);
      for (let i = 0; i < 5000; i++)
        addressInAny({ text: `2001:db${i % 2 === 0 ? 8 : 9}::${i.toString(16)}`, family: 6 }, net);
    }
  });

  test('the parser never hands a mapped source on as IPv4 (it is malformed instead)', () => {
    expect(normaliseKernelAddress('0000:0000:0000:0000:0000:ffff:cb00:7109')).toEqual({
      ok: false,
      detail: 'IPv4-mapped',
    });
  });
});
