import { describe, expect, test } from '@jest/globals';
import { addressInAny, normaliseKernelAddress, parseCidr } from '../src/address.js';

describe('allowFrom families', () => {
  test('an IPv4 CIDR never matches an IPv6 address, the IPv4-mapped form of one of its addresses included', () => {
    const v4 = [parseCidr('203.0.113.0/24')!];
    expect(addressInAny({ text: '203.0.113.9', family: 4 }, v4)).toBe(true);
    expect(addressInAny({ text: '::ffff:203.0.113.9', family: 6 }, v4)).toBe(false);
    expect(addressInAny({ text: '::ffff:cb00:7109', family: 6 }, v4)).toBe(false);
  });

  test('the parser never hands a mapped source on as IPv4 (it is malformed instead)', () => {
    expect(normaliseKernelAddress('0000:0000:0000:0000:0000:ffff:cb00:7109')).toEqual({ ok: false, detail: 'IPv4-mapped' });
  });
});
