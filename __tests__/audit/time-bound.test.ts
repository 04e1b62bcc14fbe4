import { describe, expect, test } from '@jest/globals';
import { parseTimeBound, requireTimeBound } from '../../src/audit/time-bound.js';

const now = Date.parse('2026-11-24T12:34:56.789Z');
const at = (text: string): string | undefined => {
  const ms = parseTimeBound(text, now);
  return ms === undefined ? undefined : new Date(ms).toISOString();
};

describe('parseTimeBound', () => {
  test('a duration means that long before now, with or without "ago"', () => {
    expect(at('2h')).toBe('2026-11-24T10:34:56.789Z');
    expect(at('7d')).toBe('2026-11-17T12:34:56.789Z');
    expect(at('90m ago')).toBe('2026-11-24T11:04:56.789Z');
  });

  test('today and yesterday are UTC midnights, now is now', () => {
    expect(at('today')).toBe('2026-11-24T00:00:00.000Z');
    expect(at('Yesterday')).toBe('2026-11-23T00:00:00.000Z');
    expect(at('now')).toBe('2026-11-24T12:34:56.789Z');
  });

  test('ISO times without a zone are UTC; a given zone is honoured', () => {
    expect(at('2026-11-20')).toBe('2026-11-20T00:00:00.000Z');
    expect(at('2026-11-20T08:30')).toBe('2026-11-20T08:30:00.000Z');
    expect(at('2026-11-20 08:30:15')).toBe('2026-11-20T08:30:15.000Z');
    expect(at('2026-11-20T08:30:00+02:00')).toBe('2026-11-20T06:30:00.000Z');
    expect(at('2026-11-20T08:30:00.250Z')).toBe('2026-11-20T08:30:00.250Z');
  });

  test('anything else is not a time bound', () => {
    for (const text of ['', 'soon', '2 hours', '-2h', '2026-13-45', '20261120', 'tomorrow'])
      expect(at(text)).toBeUndefined();
  });

  test('a bad option value is a usage error that says what was expected', () => {
    expect(() => requireTimeBound('--since', 'soon', now)).toThrow(
      /Expected --since to be an ISO time .* got `"soon"` \(string\)/,
    );
  });
});
