import type { AuditRecord } from '../audit/record.js';
import { isoTime } from '../model/iso-time.js';
import { renderColumns } from '../audit/text-table.js';
import type { Counters } from '../app/counters.js';
import type { Grant } from '../model/grant.js';
import { formatPort } from '../model/door.js';
import type { KnockEvent } from '../knock/events.js';
import type { TrackerStats } from '../knock/tracker.js';
import { TIMESTAMP_FORMATS, type InputSurvey, type TimestampFormat } from './replay-inputs.js';

// Pure renderers for `knocktail replay`: the JSON-lines contract of DESIGN.md and a
// human report in the spirit of fail2ban-regex.

/** The replay --json record for an audit record, or undefined when it is not printed. */
export function replayJson(record: AuditRecord, verbose: boolean): string | undefined {
  switch (record.event) {
    case 'open':
      return JSON.stringify({
        event: 'open',
        door: record.door,
        src: record.src,
        ports: record.ports,
        at: record.at,
        until: record.until,
      });
    case 'close':
      return JSON.stringify({
        event: 'close',
        door: record.door,
        src: record.src,
        reason: record.reason,
        at: record.at,
      });
    case 'refresh':
      return verbose
        ? JSON.stringify({
            event: 'refresh',
            door: record.door,
            src: record.src,
            ports: record.ports,
            at: record.at,
            until: record.until,
          })
        : undefined;
    case 'reject':
      return verbose
        ? JSON.stringify({
            event: 'rejected',
            door: record.door,
            src: record.src,
            reason: record.reason,
            at: record.at,
          })
        : undefined;
    default:
      return undefined;
  }
}

/** Verbose replay: progress, resets and scanner marks (tripwire hits) as JSON lines. */
export function knockEventJson(event: KnockEvent): string | undefined {
  const at = isoTime(event.at);
  if (event.kind === 'advanced')
    return JSON.stringify({
      event: 'progress',
      door: event.door,
      src: event.src,
      sequence: event.sequence,
      step: event.step,
      of: event.of,
      at,
    });
  if (event.kind === 'reset')
    return JSON.stringify({
      event: 'reset',
      door: event.door,
      src: event.src,
      sequence: event.sequence,
      reason: event.reason,
      at,
    });
  if (event.kind === 'scanner')
    return JSON.stringify({ event: 'scanner', src: event.src, port: event.port, at, until: isoTime(event.until) });
  return undefined;
}

/** `localAddresses`: what DST= had to be ('any' when not checked). Every line is in exactly one of packets, malformed, ignored, foreign, oversized. */
export function summaryJson(counters: Counters, localAddresses: readonly string[] | 'any' = 'any'): string {
  const { lines, packets, knocks, opens, closes, malformed, ignored, foreign, oversized } = counters;
  return JSON.stringify({
    event: 'summary',
    lines,
    packets,
    knocks,
    opens,
    closes,
    malformed,
    ignored,
    foreign,
    oversized,
    localAddresses,
  });
}

export interface DoorTally {
  knocks: number;
  opens: number;
  refreshes: number;
  closes: number;
  resets: number;
  rejected: number;
}

/** Per-door tallies, fed with every knock event and audit record of the replay. */
export class DoorTallies {
  private readonly tallies = new Map<string, DoorTally>();

  constructor(doorNames: readonly string[]) {
    for (const name of doorNames) this.get(name);
  }

  addEvent(event: KnockEvent): void {
    if (!event.door) return; // a scanner mark belongs to no door
    const tally = this.get(event.door);
    if (event.kind === 'advanced' || event.kind === 'completed' || event.kind === 'closed') tally.knocks += 1;
    if (event.kind === 'reset') tally.resets += 1;
  }

  addRecord(record: AuditRecord): void {
    if (!record.door) return;
    const tally = this.get(record.door);
    if (record.event === 'open') tally.opens += 1;
    if (record.event === 'refresh') tally.refreshes += 1;
    if (record.event === 'close') tally.closes += 1;
    if (record.event === 'reject') tally.rejected += 1;
    if (record.event === 'reject-summary') tally.rejected += record.suppressed;
    if (record.event === 'refresh-summary') tally.refreshes += record.suppressed;
  }

  entries(): [string, DoorTally][] {
    return [...this.tallies.entries()];
  }

  private get(name: string): DoorTally {
    let tally = this.tallies.get(name);
    if (!tally) {
      tally = { knocks: 0, opens: 0, refreshes: 0, closes: 0, resets: 0, rejected: 0 };
      this.tallies.set(name, tally);
    }
    return tally;
  }
}

/** Left-aligned text table with a header row (cells escaped: sources come from packets). */
function renderTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  return renderColumns(
    header.map((title) => ({ header: title })),
    rows.map((row) => row.map(String)),
    false,
  ).join('\n');
}

/** A reported line: where it is and what is wrong with it (or its text, for a stale line). */
export interface LocatedLine {
  readonly file: string;
  readonly line: number | undefined;
  readonly note: string;
}

/** The first `cap` items of a kind (lines, knock events), and how many there were in all (memory stays flat in the log's length). */
export class LineSamples<T = LocatedLine> {
  readonly kept: T[] = [];
  total = 0;
  private readonly cap: number;

  constructor(cap = LIST_CAP) {
    this.cap = cap;
  }

  add(line: T): void {
    this.total += 1;
    if (this.kept.length < this.cap) this.kept.push(line);
  }
}

/** The line as the report quotes it: escaped (it comes from packets) and cut. */
export function quoteLine(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

export interface ReportInput {
  /** The inputs in the order they were read. */
  readonly files: readonly InputSurvey[];
  readonly configPath: string;
  readonly counters: Counters;
  readonly doors: DoorTallies;
  readonly grantRecords: readonly AuditRecord[];
  readonly openAtEnd: readonly Grant[];
  readonly tracker: TrackerStats;
  readonly seconds: number;
  /** Rows shown per list before "… and N more" (default LIST_CAP). */
  readonly listCap?: number;
  readonly localAddresses?: readonly string[] | 'any';
  /** Records after the kept ones, counted but not kept (memory stays flat in the log's length). */
  readonly droppedRecords?: number;
  /** --verbose: malformed, forged, foreign and failed lines, and stale packet lines, with file and line number. */
  readonly badLines?: LineSamples;
  readonly staleLines?: LineSamples;
  /** --verbose: each source's progress through a sequence and each reset, with why. */
  readonly knockEvents?: LineSamples<KnockEvent>;
}

/**
 * A count with thousands separators, as `toLocaleString('en-US')` writes it ("12,682"), without
 * its first call's cost (ICU's locale data, about 10 ms of every replay).
 */
export function formatCount(n: number): string {
  return Number.isSafeInteger(n) ? String(n).replace(/\B(?=(\d{3})+$)/g, ',') : n.toLocaleString('en-US');
}

/** Rows a list of the human report shows; the rest is counted, and --json has them all. */
export const LIST_CAP = 50;

function capped<T>(items: readonly T[], cap: number, beyond = 0): { shown: readonly T[]; more: string[] } {
  if (items.length <= cap && beyond === 0) return { shown: items, more: [] };
  const shown = items.slice(0, cap);
  return { shown, more: [`… and ${formatCount(items.length - shown.length + beyond)} more; \`--json\` for all`] };
}

// "Timestamps: RFC 3339 (…) in a.log, b.log; dmesg (…) in c.log" — one entry per format.
function describeFormats(files: readonly InputSurvey[]): string {
  const byFormat = new Map<TimestampFormat, string[]>();
  for (const file of files)
    for (const format of file.formats) byFormat.set(format, [...(byFormat.get(format) ?? []), file.path]);
  if (byFormat.size === 0) return 'Timestamps: none readable in the first lines';
  const onlyOne = files.length === 1;
  return `Timestamps: ${[...byFormat].map(([format, paths]) => `${TIMESTAMP_FORMATS[format]}${onlyOne ? '' : ` in ${paths.join(', ')}`}`).join('; ')}`;
}

export function renderReport(input: ReportInput): string {
  const { counters: c } = input;
  const out: string[] = [];
  const cap = input.listCap ?? LIST_CAP;
  out.push(
    `Replay of ${input.files.map((file) => file.path).join(', ')} with ${input.configPath} (simulated firewall, clock from the log)`,
  );
  out.push(describeFormats(input.files));
  out.push('');
  out.push(
    `Lines:   ${c.lines} read, ${c.packets} packets, ${c.malformed} malformed, ${c.ignored} ignored${c.forged ? ` (${c.forged} forged userspace line${c.forged === 1 ? '' : 's'})` : ''}${c.errors ? `, ${c.errors} failed` : ''}`,
  );
  const hostile = [
    c.foreign ? `${c.foreign} foreign (not INPUT packets for this host)` : '',
    c.oversized ? `${c.oversized} oversized (dropped whole)` : '',
  ].filter(Boolean);
  if (hostile.length > 0) out.push(`         ${hostile.join(', ')}`);
  const local = input.localAddresses ?? 'any';
  out.push(
    `Dest:    ${local === 'any' ? 'any DST= counted (no localAddresses in the config, or --any-dst)' : `DST= must be one of ${local.join(', ')}`}`,
  );
  out.push(
    `Knocks:  ${c.knocks} knocks, ${c.opens} opens, ${c.refreshes} refreshes, ${c.closes} closes, ${c.rejected} rejected`,
  );
  const t = input.tracker;
  out.push(
    `Noise:   ${t.retransmits} SYN retransmits ignored, ${t.stale} stale packets, ${t.evicted} sources evicted, ${t.tripwireHits} tripwire hits, ${t.scanners} scanners marked`,
  );
  out.push('');
  out.push(
    renderTable(
      ['door', 'knocks', 'opens', 'refreshes', 'closes', 'resets', 'rejected'],
      input.doors.entries().map(([name, t]) => [name, t.knocks, t.opens, t.refreshes, t.closes, t.resets, t.rejected]),
    ),
  );
  out.push('');
  if (input.grantRecords.length === 0) {
    out.push('No door was opened.');
  } else {
    const { shown, more } = capped(input.grantRecords, cap, input.droppedRecords);
    out.push(`Opens and closes (${formatCount(input.grantRecords.length + (input.droppedRecords ?? 0))}):`);
    out.push(
      renderTable(['time (UTC)', 'event', 'door', 'source', 'ports / reason', 'until'], shown.map(describeGrantRecord)),
      ...more,
    );
  }
  if (input.openAtEnd.length > 0) {
    const { shown, more } = capped(input.openAtEnd, cap);
    out.push('');
    out.push(`Still open when the log ended (${formatCount(input.openAtEnd.length)}):`);
    out.push(
      renderTable(
        ['door', 'source', 'ports'],
        shown.map((g) => [g.door, g.src, g.ports.map(formatPort).join(' ')]),
      ),
      ...more,
    );
  }
  listKnockEvents(out, input.knockEvents);
  listLines(out, 'Bad lines', input.badLines);
  listLines(out, "Stale lines (older than their door's timeout, never used)", input.staleLines);
  out.push('');
  // A rate over a few dozen lines measures start-up, not throughput.
  const rate =
    c.lines >= 100_000 ? ` (${formatCount(Math.round(c.lines / Math.max(input.seconds, 1e-6)))} lines/s)` : '';
  out.push(`Replayed in ${input.seconds.toFixed(3)} s${rate}.`);
  return out.join('\n');
}

function listLines(out: string[], title: string, samples: LineSamples | undefined): void {
  if (!samples || samples.total === 0) return;
  out.push('');
  out.push(`${title}: ${formatCount(samples.total)}`);
  for (const { file, line, note } of samples.kept)
    out.push(`  ${line === undefined ? file : `${file}:${line}`}  ${note}`);
  if (samples.total > samples.kept.length)
    out.push(`  … and ${formatCount(samples.total - samples.kept.length)} more; \`--json --verbose\` for all`);
}

function listKnockEvents(out: string[], samples: LineSamples<KnockEvent> | undefined): void {
  if (!samples || samples.total === 0) return;
  out.push('');
  out.push(`Progress and resets (${formatCount(samples.total)}):`);
  out.push(renderTable(['time (UTC)', 'event', 'door', 'source', 'sequence'], samples.kept.map(describeKnockEvent)));
  if (samples.total > samples.kept.length)
    out.push(`… and ${formatCount(samples.total - samples.kept.length)} more; \`--json --verbose\` for all`);
}

function describeKnockEvent(event: KnockEvent): string[] {
  const time = isoTime(event.at).replace('T', ' ').replace('Z', '');
  if (event.kind === 'advanced')
    return [time, 'progress', event.door, event.src, `${event.sequence} step ${event.step} of ${event.of}`];
  if (event.kind === 'reset') return [time, 'reset', event.door, event.src, `${event.sequence}: ${event.reason}`];
  return [time, event.kind, event.door, event.src, ''];
}

function describeGrantRecord(record: AuditRecord): string[] {
  const time = record.at.replace('T', ' ').replace('Z', '');
  if (record.event === 'open' || record.event === 'refresh') {
    return [
      time,
      record.event,
      record.door,
      record.src,
      record.ports.join(' '),
      record.until === null ? 'until closed' : record.until.replace('T', ' ').replace('Z', ''),
    ];
  }
  if (record.event === 'close') return [time, 'close', record.door, record.src, record.reason, ''];
  if (record.event === 'reject') return [time, 'reject', record.door, record.src, record.reason, ''];
  if (record.event === 'reject-summary' || record.event === 'refresh-summary')
    return [
      time,
      record.event,
      record.door,
      `${record.sources} sources`,
      `${record.suppressed} ${record.event === 'reject-summary' ? 'suppressed' : 'coalesced'}`,
      '',
    ];
  return [time, record.event, record.door, record.src, '', ''];
}
