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

export function renderColumns(columns: readonly Column[], rows: readonly (readonly (Cell | string)[])[], color: boolean): string[] {
  const cells = rows.map((row) => row.map((cell) => (typeof cell === 'string' ? { text: escapeCell(cell) } : { ...cell, text: escapeCell(cell.text) })));
  // A loop, not Math.max(...cells): a spread of 250,000 rows overflows the stack.
  const widths = columns.map((column, i) => cells.reduce((width, row) => Math.max(width, row[i]?.text.length ?? 0), column.header.length));
  const pad = (text: string, i: number): string => (columns[i]?.align === 'right' ? text.padStart(widths[i]!) : text.padEnd(widths[i]!));
  const last = columns.length - 1;
  const join = (parts: string[]): string => parts.join('  ').trimEnd();
  const header = join(columns.map((column, i) => paint(i === last ? column.header : pad(column.header, i), 'bold', color)));
  const body = cells.map((row) =>
    join(columns.map((_, i) => {
      const cell = row[i] ?? { text: '' };
      const text = i === last && columns[i]?.align !== 'right' ? cell.text : pad(cell.text, i);
      return paint(text, cell.tone, color);
    })),
  );
  return [header, ...body];
}
