import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { normaliseAddress } from '../../src/model/address.js';
import { AddressCache } from '../../src/parse/address-cache.js';

// The kernel prints IPv6 with %pI6: eight groups of four hex digits, nothing compressed.
function kernelForm(groups: readonly number[]): string {
  return groups.map((g) => g.toString(16).padStart(4, '0')).join(':');
}

describe('AddressCache', () => {
  test('answers from bytes exactly as from the text, across slot collisions and evictions', () => {
    const cache = new AddressCache(64);
    const address = fc.oneof(
      fc.tuple(fc.nat(255), fc.nat(255)).map(([a, b]) => `203.0.${a}.${b}`),
      fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map(kernelForm),
      fc.constantFrom(
        '01.2.3.4',
        '::ffff:1.2.3.4',
        'fe80::1%eth0',
        '2001:DB8::1',
        'x',
        '',
        '1'.repeat(45),
        '1'.repeat(46),
      ),
    );
    fc.assert(
      fc.property(fc.array(address, { minLength: 1, maxLength: 3000 }), (texts) => {
        for (const text of texts) {
          const bytes = Buffer.from(`SRC=${text} `, 'latin1');
          expect(cache.normaliseBytes(bytes, 4, bytes.length - 1)).toEqual(new AddressCache().normalise(text));
        }
      }),
      { numRuns: 20 },
    );
  });

  test("maps the kernel's expanded IPv6 form to RFC 5952 short form", () => {
    const cache = new AddressCache();
    expect(cache.normalise('2001:0db8:0077:0000:0000:0000:0000:0009')).toEqual({
      ok: true,
      address: { text: '2001:db8:77::9', family: 6 },
    });
    expect(cache.normalise('2001:0db8:0000:0000:0001:0000:0000:0001')).toEqual({
      ok: true,
      address: { text: '2001:db8::1:0:0:1', family: 6 },
    });
    expect(cache.normalise('203.0.113.9')).toEqual({ ok: true, address: { text: '203.0.113.9', family: 4 } });
    expect(cache.normalise('203.0.113.256')).toEqual({ ok: false, detail: 'not an address' });
    expect(cache.normalise('203.0.113.256')).toEqual({ ok: false, detail: 'not an address' });
  });

  test('zone ids, IPv4-mapped and IPv4-compatible IPv6 and leading-zero quads are refused, never folded into IPv4', () => {
    const cache = new AddressCache();
    expect(cache.normalise('fe80:0000:0000:0000:0000:0000:0000:0001%eth0')).toEqual({ ok: false, detail: 'zone id' });
    expect(cache.normalise('fe80::1%2')).toEqual({ ok: false, detail: 'zone id' });
    expect(cache.normalise('0000:0000:0000:0000:0000:ffff:cb00:7109')).toEqual({ ok: false, detail: 'IPv4-mapped' });
    expect(cache.normalise('::ffff:203.0.113.9')).toEqual({ ok: false, detail: 'IPv4-mapped' });
    expect(cache.normalise('0000:0000:0000:0000:0000:0000:cb00:7109')).toEqual({
      ok: false,
      detail: 'IPv4-compatible',
    });
    expect(cache.normalise('::203.0.113.9')).toEqual({ ok: false, detail: 'IPv4-compatible' });
    expect(cache.normalise('203.000.113.9')).toEqual({ ok: false, detail: 'not an address' });
    expect(cache.normalise('0000:0000:0000:0000:0000:0000:0000:0001')).toEqual({
      ok: true,
      address: { text: '::1', family: 6 },
    });
  });

  test('normalising a normalised address changes nothing (IPv4 and IPv6)', () => {
    const cache = new AddressCache(64);
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (raw) => {
        const once = cache.normalise(raw);
        if (!once.ok) return;
        expect(cache.normalise(once.address.text)).toEqual(once);
        expect(normaliseAddress(once.address.text)).toEqual(once.address);
      }),
      { numRuns: 3000 },
    );
  });

  test('gives every expanded IPv6 address the RFC 5952 form, cached or not', () => {
    const cache = new AddressCache(16);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), (groups) => {
        const raw = kernelForm(groups);
        const first = cache.normalise(raw);
        const again = cache.normalise(raw);
        expect(again).toEqual(first);
        if (first.ok) {
          expect(first.address).toEqual(normaliseAddress(raw));
          expect(first.address.text).toMatch(/^[0-9a-f:]+$/);
          expect(first.address.text).not.toMatch(/(^|:)0[0-9a-f]/);
          expect(first.address.text.split('::').length).toBeLessThanOrEqual(2);
          expect(kernelForm(expandV6(first.address.text))).toBe(raw);
        } else {
          expect(groups.slice(0, 5).every((g) => g === 0)).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  test('stays within its capacity however many distinct addresses come', () => {
    const cache = new AddressCache(100);
    for (let i = 0; i < 1000; i++) cache.normalise(`198.51.${i >> 8}.${i & 255}`);
    expect(cache.size).toBeLessThanOrEqual(100);
  });
});

function expandV6(text: string): number[] {
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((g) => parseInt(g, 16));
}
