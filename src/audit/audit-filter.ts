import { addressInAny, normaliseAddress, parseCidr, type Cidr } from '../model/address.js';
import { KnocktailError, describeValue } from '../model/errors.js';
import type { AuditRecord } from './record.js';
import { requireTimeBound } from './time-bound.js';

// Which records (and grants) a query wants. Times are kept as ISO strings because every
// record's `at` is one, and ISO UTC strings of one shape compare like the times they name.
export interface AuditFilter {
  readonly since?: string;
  readonly until?: string;
  readonly src?: Cidr;
  readonly door?: string;
  readonly event?: string;
}

export interface AuditFilterOptions {
  readonly since?: string;
  readonly until?: string;
  readonly src?: string;
  readonly door?: string;
  readonly event?: string;
}

export const AUDIT_EVENTS = [
  'open',
  'refresh',
  'close',
  'reject',
  'reject-summary',
  'refresh-summary',
  'firewall-error',
  'firewall-repair',
  'state-corrupt',
  'sessions-ended',
] as const;

/** Validates the command-line filters; every mistake is a USAGE error saying what was expected. */
export function buildAuditFilter(options: AuditFilterOptions, now: number): AuditFilter {
  const filter: { -readonly [K in keyof AuditFilter]: AuditFilter[K] } = {};
  if (options.since !== undefined)
    filter.since = new Date(requireTimeBound('--since', options.since, now)).toISOString();
  if (options.until !== undefined)
    filter.until = new Date(requireTimeBound('--until', options.until, now)).toISOString();
  if (filter.since !== undefined && filter.until !== undefined && filter.since > filter.until) {
    throw new KnocktailError(
      'USAGE',
      `Expected --since (${filter.since}) to be no later than --until (${filter.until})`,
    );
  }
  if (options.src !== undefined) {
    const cidr = parseCidr(options.src);
    if (!cidr)
      throw new KnocktailError(
        'USAGE',
        `Expected --src to be an IP address or CIDR like 203.0.113.0/24, got ${describeValue(options.src)}`,
      );
    filter.src = cidr;
  }
  if (options.door !== undefined) filter.door = options.door;
  if (options.event !== undefined) {
    if (!(AUDIT_EVENTS as readonly string[]).includes(options.event)) {
      throw new KnocktailError(
        'USAGE',
        `Expected --event to be one of ${AUDIT_EVENTS.join(', ')}, got ${describeValue(options.event)}`,
      );
    }
    filter.event = options.event;
  }
  return filter;
}

// The source/door part of a filter: it selects whole grants, so pairing sees all their records.
export function createKeyMatcher(filter: AuditFilter): (record: AuditRecord) => boolean {
  const { src, door } = filter;
  if (!src) return door === undefined ? () => true : (record) => record.door === door;
  // Addresses repeat a lot in a log; remember each one's answer (bounded).
  const seen = new Map<string, boolean>();
  const inRange = (text: string): boolean => {
    let hit = seen.get(text);
    if (hit === undefined) {
      const address = normaliseAddress(text);
      hit = address !== undefined && addressInAny(address, [src]);
      if (seen.size >= 10_000) seen.clear();
      seen.set(text, hit);
    }
    return hit;
  };
  return (record) => (door === undefined || record.door === door) && inRange(record.src);
}

/** Whether a time lies in [since, until]. */
export function inWindow(filter: AuditFilter, at: string): boolean {
  return (filter.since === undefined || at >= filter.since) && (filter.until === undefined || at <= filter.until);
}

export function createRecordMatcher(filter: AuditFilter): (record: AuditRecord) => boolean {
  const key = createKeyMatcher(filter);
  return (record) =>
    (filter.event === undefined || record.event === filter.event) && inWindow(filter, record.at) && key(record);
}
