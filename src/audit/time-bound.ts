import { KnocktailError, describeValue } from '../model/errors.js';
import { parseDuration } from '../model/duration.js';

// `--since` / `--until` values: an ISO time, a duration ago (`2h`, `7d`, `90m ago`),
// `now`, `today` or `yesterday` (UTC midnights). Times without a zone are taken as UTC,
// like every time in the audit log, so the answer does not depend on the host's TZ.
const DAY = 86_400_000;
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** Epoch ms for a time bound relative to `now`, or undefined when `text` is not one. */
export function parseTimeBound(text: string, now: number): number | undefined {
  const value = text.trim().toLowerCase();
  if (value === 'now') return now;
  if (value === 'today') return Math.floor(now / DAY) * DAY;
  if (value === 'yesterday') return Math.floor(now / DAY) * DAY - DAY;
  const ago = parseDuration(value.replace(/\s*ago$/, ''));
  if (ago !== undefined) return now - ago;
  const iso = ISO.exec(text.trim());
  if (!iso) return undefined;
  const normalised = text.trim().replace(' ', 'T');
  const withZone = iso[1] || normalised.length === 10 ? normalised : `${normalised}Z`;
  const ms = Date.parse(withZone);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Like parseTimeBound, but a bad value is a usage error naming the option. */
export function requireTimeBound(option: string, text: string, now: number): number {
  const ms = parseTimeBound(text, now);
  if (ms === undefined) {
    throw new KnocktailError(
      'USAGE',
      `Expected ${option} to be an ISO time (2026-11-24T10:00Z, UTC if no zone), a duration ago (2h, 7d) or today/yesterday, got ${describeValue(text)}`,
    );
  }
  return ms;
}
