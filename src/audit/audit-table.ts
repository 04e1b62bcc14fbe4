import { grantLength, type GrantOutcome, type GrantRow } from './grant-pairing.js';
import type { AuditSummary, SummaryLine } from './audit-summary.js';
import type { AuditRecord } from './record.js';
import { formatLength, formatTime } from './time-text.js';
import { columnLines, escapeCell, paint, renderColumns, type Cell, type Column, type Tone } from './text-table.js';

// Re-exported: fleet views and older callers take them from here.
export { formatLength, formatTime } from './time-text.js';

// What `knocktail audit` prints for people: grants one per line, records one per line,
// or the summary. All times are UTC, as in the log, and the header says so.
export interface TableOptions {
  readonly color: boolean;
  readonly now: number;
}

const OUTCOME: Record<GrantOutcome, { text: string; tone?: Tone }> = {
  expired: { text: 'expired' },
  'close-sequence': { text: 'close sequence' },
  revoked: { text: 'revoked', tone: 'yellow' },
  'expired-while-down': { text: 'expired while down', tone: 'yellow' },
  'door-removed': { text: 'door removed (reload)', tone: 'yellow' },
  'not-allowed': { text: 'not allowed (reload)', tone: 'yellow' },
  scanner: { text: 'revoked: scanner', tone: 'red' },
  'still-open': { text: 'still open', tone: 'green' },
  reopened: { text: 'no close record', tone: 'red' },
  'expired-unclosed': { text: 'expired (no close record)', tone: 'yellow' },
};

// Rows and records come from files on disk that an older or newer knocktail may have written,
// so a value outside this version's union is shown as it is rather than trusted to be known.
function known<K extends string, V>(table: Readonly<Record<K, V>>, key: string): V | undefined {
  return Object.hasOwn(table, key) ? table[key as K] : undefined;
}

export function renderGrantTable(rows: readonly GrantRow[], options: TableOptions): string {
  return `${[...grantTableLines(rows, options)].join('\n')}\n`;
}

const GRANT_COLUMNS: readonly Column[] = [
  { header: 'SOURCE' },
  { header: 'DOOR' },
  { header: 'PORTS' },
  { header: 'OPENED (UTC)' },
  { header: 'CLOSED (UTC)' },
  { header: 'OPEN FOR', align: 'right' },
  { header: 'WHY CLOSED' },
];

/** The grant table line by line, for output too long to build as one string. */
export function* grantTableLines(rows: readonly GrantRow[], options: TableOptions): Generator<string> {
  if (rows.length === 0) {
    yield 'No grants match.';
    return;
  }
  // Rows from the fleet's audit stream say which member they are from.
  const fleet = rows.some((row) => row.host !== undefined);
  yield* columnLines(
    fleet ? [{ header: 'HOST' }, ...GRANT_COLUMNS] : GRANT_COLUMNS,
    rows,
    (row) => (fleet ? [{ text: row.host ?? '-' }, ...grantCells(row, options.now)] : grantCells(row, options.now)),
    options.color,
  );
  const open = rows.reduce((count, row) => count + (row.outcome === 'still-open' ? 1 : 0), 0);
  const unclosed = rows.reduce((count, row) => count + (row.outcome === 'expired-unclosed' ? 1 : 0), 0);
  yield '';
  yield `${rows.length} grant${rows.length === 1 ? '' : 's'}, ${open} still open${unclosed === 0 ? '' : `, ${unclosed} expired with no close record`}`;
}

function grantCells(row: GrantRow, now: number): Cell[] {
  const length = grantLength(row, now);
  const outcome = known(OUTCOME, row.outcome) ?? { text: row.outcome };
  return [
    { text: row.src },
    { text: row.door },
    { text: row.ports.join(',') || '-' },
    row.opened === null ? { text: 'before log', tone: 'dim' } : { text: formatTime(row.opened) },
    row.closed === null ? { text: '-', tone: 'dim' } : { text: formatTime(row.closed) },
    { text: length === undefined ? '?' : formatLength(length) },
    { text: outcome.text, ...(outcome.tone ? { tone: outcome.tone } : {}) },
  ];
}

export function renderRecordTable(records: readonly AuditRecord[], options: Pick<TableOptions, 'color'>): string {
  return `${[...recordTableLines(records, options)].join('\n')}\n`;
}

const RECORD_COLUMNS: readonly Column[] = [
  { header: 'AT (UTC)' },
  { header: 'EVENT' },
  { header: 'DOOR' },
  { header: 'SOURCE' },
  { header: 'DETAIL' },
];

/** The record table line by line. */
export function* recordTableLines(
  records: readonly AuditRecord[],
  options: Pick<TableOptions, 'color'>,
): Generator<string> {
  if (records.length === 0) {
    yield 'No records match.';
    return;
  }
  const fleet = records.some((record) => record.host !== undefined);
  const cells = (record: AuditRecord): Cell[] => [
    { text: formatTime(record.at) },
    { text: record.event, ...toneOf(record) },
    { text: record.door },
    { text: record.src },
    { text: detailOf(record) },
  ];
  yield* columnLines(
    fleet ? [{ header: 'HOST' }, ...RECORD_COLUMNS] : RECORD_COLUMNS,
    records,
    (record) => (fleet ? [{ text: record.host ?? '-' }, ...cells(record)] : cells(record)),
    options.color,
  );
  yield '';
  yield `${records.length} record${records.length === 1 ? '' : 's'}`;
}

/** One record on one line, for --follow, where later widths are unknown. */
export function formatRecordLine(record: AuditRecord, color: boolean): string {
  const event = paint(record.event.padEnd(15), toneOf(record).tone, color);
  return (
    escapeCell(`${formatTime(record.at)}  `) + event + escapeCell(` ${record.door}  ${record.src}  ${detailOf(record)}`)
  );
}

function toneOf(record: AuditRecord): { tone?: Tone } {
  if (record.event === 'open') return { tone: 'green' };
  if (
    record.event === 'reject' ||
    record.event === 'reject-summary' ||
    record.event === 'firewall-error' ||
    record.event === 'state-corrupt'
  )
    return { tone: 'red' };
  return {};
}

// A field read from disk and only partly checked (audit-records.ts) may be missing or mistyped.
function textOnDisk(value: unknown): string {
  return typeof value === 'string' ? value : '-';
}

function detailOf(record: AuditRecord): string {
  switch (record.event) {
    case 'open':
    case 'refresh':
      // Read from disk and only partly checked (audit-records.ts): a record may lack its ports.
      return `${((record.ports as readonly string[] | undefined) ?? []).join(',')} until ${record.until === null ? 'closed' : formatTime(record.until)}${record.by === 'manual' ? ' (by hand)' : record.by === 'fleet' ? ' (fleet)' : ''}`;
    case 'close':
    case 'reject':
      return textOnDisk(record.reason);
    case 'refresh-summary':
      return `coalesced ${record.suppressed} refreshes from ${record.sources}${record.sourcesCapped ? '+' : ''} sources since ${formatTime(record.from)}`;
    case 'reject-summary':
      return `suppressed ${record.suppressed} rejects from ${record.sources}${record.sourcesCapped ? '+' : ''} sources since ${formatTime(record.from)} (${Object.entries(
        (record.reasons as Readonly<Record<string, number>> | undefined) ?? {},
      )
        .map(([reason, n]) => `${textOnDisk(reason)} ${n}`)
        .join(', ')})`;
    case 'state-corrupt':
      return `state file ${textOnDisk(record.file)} unusable (${textOnDisk(record.error)}); ${record.movedTo ? `moved to ${textOnDisk(record.movedTo)}` : 'could not be moved'}, started with no grants`;
    case 'sessions-ended':
      return `ended ${record.ended} connection${record.ended === 1 ? '' : 's'} to ${((record.ports as readonly string[] | undefined) ?? []).join(',')}${record.errors ? `; failed: ${textOnDisk(record.errors.join('; '))}` : ''}`;
    default:
      return `${record.action}${record.event === 'firewall-error' ? ' failed' : ' repaired'}${record.attempt === undefined ? '' : ` (attempt ${record.attempt})`}${record.error ? `: ${record.error}` : ''}`;
  }
}

export function renderSummary(summary: AuditSummary, options: Pick<TableOptions, 'color'>): string {
  const out: string[] = [];
  out.push(paint('Doors', 'bold', options.color));
  out.push(...summaryColumns('DOOR', 'SOURCES', summary.doors, options.color), '');
  out.push(paint('Sources', 'bold', options.color));
  out.push(...summaryColumns('SOURCE', 'DOORS', summary.sources, options.color));
  if (summary.moreSources > 0)
    out.push(`… and ${summary.moreSources} more source${summary.moreSources === 1 ? '' : 's'}`);
  out.push('', paint('Opens per day (UTC)', 'bold', options.color));
  out.push(...renderHistogram(summary.days));
  out.push('', `${summary.stillOpen} grant${summary.stillOpen === 1 ? '' : 's'} still open`);
  return `${out.join('\n')}\n`;
}

function summaryColumns(name: string, distinct: string, lines: readonly SummaryLine[], color: boolean): string[] {
  if (lines.length === 0) return ['(none)'];
  return renderColumns(
    [
      { header: name },
      { header: 'OPENS', align: 'right' },
      { header: distinct, align: 'right' },
      { header: 'LONGEST', align: 'right' },
      { header: 'REJECTED', align: 'right' },
    ],
    lines.map((line): Cell[] => [
      { text: line.name },
      { text: String(line.opens) },
      { text: String(line.distinct) },
      { text: line.longest === undefined ? '-' : formatLength(line.longest) },
      { text: String(line.rejected), ...(line.rejected > 0 ? { tone: 'yellow' as const } : {}) },
    ]),
    color,
  );
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** One line per day: a bar of block characters (eighths for the remainder) and the count. */
export function renderHistogram(days: readonly { day: string; opens: number }[], width = 40): string[] {
  if (days.length === 0) return ['(no opens)'];
  const max = Math.max(1, ...days.map((day) => day.opens));
  return days.map(({ day, opens }) => {
    const eighths = Math.round((opens / max) * width * 8);
    const bar = '█'.repeat(Math.floor(eighths / 8)) + (EIGHTHS[eighths % 8] ?? '');
    return `${day}  ${bar}${bar ? ' ' : ''}${opens}`;
  });
}
