import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { canonicalJson } from '../../src/fleet/canonical-json.js';
import type { UnsignedEnvelope } from '../../src/fleet/fleet-message.js';
import { encodeEnvelope, resignEnvelope, signEnvelope, verifyEnvelope } from '../../src/fleet/message-signing.js';
import { ReplayGuard } from '../../src/fleet/replay-guard.js';

const KEY = 'group-key-'.repeat(4);
const NOW = Date.UTC(2026, 11, 1, 9, 0, 0);
const options = { key: KEY, group: 'bastions', now: NOW, maxSkew: 2000 };

const unsigned: UnsignedEnvelope = {
  v: 1,
  group: 'bastions',
  id: 'id-1',
  host: 'b1',
  iat: NOW - 10,
  exp: NOW + 60_000,
  type: 'grant',
  body: { action: 'open', door: 'ssh', src: '203.0.113.7', family: 4, until: NOW + 60_000, by: 'knock' },
};

const bytes = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value));

describe('canonical JSON', () => {
  test('sorts keys at every level and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [true, null], c: 'x' }, u: undefined })).toBe(
      '{"a":{"c":"x","d":[true,null]},"b":1}',
    );
  });

  test('refuses values JSON cannot carry', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/no form for the number NaN/);
  });

  test('round-trips any JSON value and does not depend on key order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});

describe('signed fleet messages', () => {
  test('a message signed with the group key verifies, whatever order its keys arrive in', () => {
    const signed = signEnvelope(unsigned, KEY);
    expect(verifyEnvelope(encodeEnvelope(signed), options)).toEqual({ ok: true, envelope: signed });
    const reordered = Object.fromEntries(Object.entries(signed).reverse());
    expect(verifyEnvelope(bytes(reordered), options).ok).toBe(true);
  });

  test('a message signed again keeps its id, body and exp and verifies with its new iat', () => {
    const again = resignEnvelope(signEnvelope(unsigned, KEY), NOW + 1000, KEY);
    expect(again).toMatchObject({ id: unsigned.id, exp: unsigned.exp, body: unsigned.body, iat: NOW + 1000 });
    expect(verifyEnvelope(encodeEnvelope(again), { ...options, now: NOW + 1000 })).toEqual({
      ok: true,
      envelope: again,
    });
  });

  test('an unsigned message is refused as unsigned', () => {
    expect(verifyEnvelope(bytes(unsigned), options)).toEqual({ ok: false, reason: 'unsigned' });
  });

  test('a message signed with another key is refused as mis-signed', () => {
    expect(verifyEnvelope(encodeEnvelope(signEnvelope(unsigned, 'another-key-'.repeat(4))), options)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
  });

  test('changing any signed field after signing breaks the signature', () => {
    const signed = signEnvelope(unsigned, KEY);
    const longer = { ...signed, body: { ...signed.body, until: NOW + 86_400_000 } };
    expect(verifyEnvelope(bytes(longer), options)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyEnvelope(bytes({ ...signed, host: 'b2' }), options)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyEnvelope(bytes({ ...signed, sig: 'AAAA' }), options)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  test('an expired message, one from the future and one of another group are refused', () => {
    expect(verifyEnvelope(encodeEnvelope(signEnvelope({ ...unsigned, exp: NOW }, KEY)), options)).toEqual({
      ok: false,
      reason: 'expired',
    });
    expect(verifyEnvelope(encodeEnvelope(signEnvelope({ ...unsigned, iat: NOW + 2001 }, KEY)), options)).toEqual({
      ok: false,
      reason: 'not-yet-valid',
    });
    expect(verifyEnvelope(encodeEnvelope(signEnvelope({ ...unsigned, group: 'web' }, KEY)), options)).toEqual({
      ok: false,
      reason: 'wrong-group',
    });
  });

  test('bytes that are not an envelope are refused as malformed', () => {
    expect(verifyEnvelope(Buffer.from('{not json'), options)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyEnvelope(bytes([1, 2]), options)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyEnvelope(bytes({ ...unsigned, v: 2, sig: 'x' }), options)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyEnvelope(bytes({ ...unsigned, iat: 'now', sig: 'x' }), options)).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });
});

describe('the replay guard', () => {
  test('admits an id once', () => {
    const guard = new ReplayGuard();
    expect(guard.admit('a', NOW + 10, NOW)).toBe(true);
    expect(guard.admit('a', NOW + 10, NOW)).toBe(false);
    expect(guard.admit('b', NOW + 10, NOW)).toBe(true);
  });

  test('stays within its capacity, forgetting expired ids first', () => {
    const guard = new ReplayGuard(3);
    guard.admit('old', NOW - 1, NOW - 100);
    guard.admit('x', NOW + 50, NOW);
    guard.admit('y', NOW + 60, NOW);
    guard.admit('z', NOW + 70, NOW);
    expect(guard.size).toBe(3);
    expect(guard.has('old')).toBe(false);
    expect(guard.has('x')).toBe(true);
  });
});
