import { grantLength, type GrantRow } from './grant-pairing.js';
import type { AuditRecord } from './record.js';

// `knocktail audit --summary`: per door and per source, how often it opened, for how
// many others, the longest grant, and how many knocks were refused; plus opens per day.
export interface SummaryLine {
  readonly name: string;
  readonly opens: number;
  /** Distinct sources (for a door) or distinct doors (for a source). */
  readonly distinct: number;
  /** Longest grant in ms; undefined when no grant's start is known. */
  readonly longest: number | undefined;
  readonly rejected: number;
}

export interface AuditSummary {
  readonly doors: readonly SummaryLine[];
  readonly sources: readonly SummaryLine[];
  /** Sources left out of `sources` (only the busiest are listed). */
  readonly moreSources: number;
  /** Every day from the first to the last open (at most `maxDays`, the latest), zeros included. */
  readonly days: readonly { readonly day: string; readonly opens: number }[];
  readonly stillOpen: number;
}

interface Tally {
  opens: number;
  others: Set<string>;
  longest: number | undefined;
  rejected: number;
}

export class SummaryBuilder {
  private readonly doors = new Map<string, Tally>();
  private readonly sources = new Map<string, Tally>();
  private readonly days = new Map<string, number>();
  private stillOpen = 0;

  constructor(private readonly now: number) {}

  /** A record the filter selected. */
  addRecord(record: AuditRecord): void {
    if (record.event === 'open') {
      tally(this.doors, record.door, record.src).opens++;
      tally(this.sources, record.src, record.door).opens++;
      const day = record.at.slice(0, 10);
      this.days.set(day, (this.days.get(day) ?? 0) + 1);
    } else if (record.event === 'reject') {
      tally(this.doors, record.door).rejected++;
      tally(this.sources, record.src).rejected++;
    } else if (record.event === 'reject-summary') {
      // Suppressed rejects count for the door; their sources were not written one by one.
      tally(this.doors, record.door).rejected += record.suppressed;
    }
  }

  /** A grant row the filter selected. */
  addRow(row: GrantRow): void {
    if (row.outcome === 'still-open') this.stillOpen++;
    const length = grantLength(row, this.now);
    if (length === undefined) return;
    for (const entry of [tally(this.doors, row.door), tally(this.sources, row.src)]) {
      entry.longest = Math.max(entry.longest ?? 0, length);
    }
  }

  result(options: { maxSources: number; maxDays: number }): AuditSummary {
    const sources = [...this.sources.entries()].map(([name, entry]) => line(name, entry));
    sources.sort((a, b) => b.opens - a.opens || b.rejected - a.rejected || (a.name < b.name ? -1 : 1));
    const doors = [...this.doors.entries()]
      .map(([name, entry]) => line(name, entry))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    return {
      doors,
      sources: sources.slice(0, options.maxSources),
      moreSources: Math.max(0, sources.length - options.maxSources),
      days: fillDays(this.days, options.maxDays),
      stillOpen: this.stillOpen,
    };
  }
}

function tally(map: Map<string, Tally>, name: string, other?: string): Tally {
  let entry = map.get(name);
  if (!entry) {
    entry = { opens: 0, others: new Set(), longest: undefined, rejected: 0 };
    map.set(name, entry);
  }
  if (other !== undefined) entry.others.add(other);
  return entry;
}

function line(name: string, entry: Tally): SummaryLine {
  return { name, opens: entry.opens, distinct: entry.others.size, longest: entry.longest, rejected: entry.rejected };
}

const DAY = 86_400_000;

function fillDays(days: Map<string, number>, maxDays: number): { day: string; opens: number }[] {
  if (days.size === 0) return [];
  const sorted = [...days.keys()].sort();
  const last = Date.parse(`${sorted[sorted.length - 1]}T00:00:00Z`);
  const first = Math.max(Date.parse(`${sorted[0]}T00:00:00Z`), last - (maxDays - 1) * DAY);
  const out: { day: string; opens: number }[] = [];
  for (let at = first; at <= last; at += DAY) {
    const day = new Date(at).toISOString().slice(0, 10);
    out.push({ day, opens: days.get(day) ?? 0 });
  }
  return out;
}
