import { describe, expect, test } from '@jest/globals';
import { grantLength, settleOpenRow, type GrantRow } from '../../src/audit/grant-pairing.js';

// Rows left open at the end of the scan are settled against the caller's clock.
const open: GrantRow = {
  door: 'ssh',
  src: '203.0.113.9',
  ports: ['tcp:22'],
  opened: '2026-11-24T10:00:00.000Z',
  closed: null,
  until: '2026-11-24T11:00:00.000Z',
  refreshes: 0,
  outcome: 'still-open',
};
const at = (iso: string): number => Date.parse(iso);

describe('settling open grant rows', () => {
  test('a row whose end has passed becomes expired-unclosed and its length stops at that end', () => {
    const row = settleOpenRow(open, at('2026-11-30T00:00:00.000Z'));
    expect(row.outcome).toBe('expired-unclosed');
    expect(grantLength(row, at('2026-11-30T00:00:00.000Z'))).toBe(3_600_000);
  });

  test('a row whose end is still ahead stays open and counts to now', () => {
    const row = settleOpenRow(open, at('2026-11-24T10:30:00.000Z'));
    expect(row).toBe(open);
    expect(grantLength(row, at('2026-11-24T10:30:00.000Z'))).toBe(1_800_000);
  });

  test('an until-closed row and a closed row are left as they are', () => {
    const untilClosed = { ...open, until: null };
    const closed = { ...open, closed: '2026-11-24T10:10:00.000Z', outcome: 'expired' as const };
    expect(settleOpenRow(untilClosed, at('2027-01-01T00:00:00.000Z'))).toBe(untilClosed);
    expect(settleOpenRow(closed, at('2027-01-01T00:00:00.000Z'))).toBe(closed);
  });
});
