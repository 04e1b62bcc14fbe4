// Aligned plain-text columns, with ANSI colour only when asked (the caller asks when
// stdout is a TTY). Cells are escaped first: audit fields may carry packet-derived text.
export type Tone = 'green' | 'yellow' | 'red' | 'dim' | 'bold';

export interface Cell {
  readonly text: string;
  readonly tone?: Tone;
}

export interface Column {
  readonly header: string;
  readonly align?: 'left' | 'right';
}

const ANSI: Record<Tone, [string, string]> = {
  green: ['\u001b[32m', '\u001b[39m'],
  yellow: ['\u001b[33m', '\u001b[39m'],
  red: ['\u001b[31m', '\u001b[39m'],
  dim: ['\u001b[2m', '\u001b[22m'],
  bold: ['\u001b[1m', '\u001b[22m'],
};

export function paint(text: string, tone: Tone | undefined, color: boolean): string {
  if (!color || !tone) return text;
  const [open, close] = ANSI[tone];
  return `${open}${text}${close}`;
}

/** Control characters (and DEL, C1) as visible \xNN escapes, so a cell is one line of known width. */
export function escapeCell(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function renderColumns(
  columns: readonly Column[],
  rows: readonly (readonly (Cell | string)[])[],
  color: boolean,
): string[] {
  return [...columnLines(columns, rows, (row) => row, color)];
}

/**
 * The same table for many rows without holding it all: one pass over `items` for the
 * widths, a second that yields line by line (cells are built twice, never kept).
 */
export function* columnLines<T>(
  columns: readonly Column[],
  items: readonly T[],
  cellsOf: (item: T) => readonly (Cell | string)[],
  color: boolean,
): Generator<string> {
  const widths = columns.map((column) => column.header.length);
  for (const item of items) {
    const row = cellsOf(item);
    for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i]!, escapeCell(textOf(row[i])).length);
  }
  const last = columns.length - 1;
  const pad = (text: string, i: number): string =>
    columns[i]?.align === 'right' ? text.padStart(widths[i]!) : i === last ? text : text.padEnd(widths[i]!);
  yield columns
    .map((column, i) => paint(pad(column.header, i), 'bold', color))
    .join('  ')
    .trimEnd();
  for (const item of items) {
    const row = cellsOf(item);
    yield columns
      .map((_, i) => {
        const cell = row[i];
        return paint(pad(escapeCell(textOf(cell)), i), typeof cell === 'string' ? undefined : cell?.tone, color);
      })
      .join('  ')
      .trimEnd();
  }
}

function textOf(cell: Cell | string | undefined): string {
  return typeof cell === 'string' ? cell : (cell?.text ?? '');
}
