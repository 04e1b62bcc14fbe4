// JSON.parse with an error that names the line and column (V8 only gives an offset,
// and not even that for text that ends too early).
export type JsonText =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly line: number; readonly column: number; readonly message: string };

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lines = before.split('\n');
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

const ENDED_EARLY = 'Unexpected end of JSON input';

// V8 reports a prefix that merely stops early either as "Unexpected end" or with an
// error positioned at its very end ("Expected property name … at position 1" for "{").
function failsBeforeEnd(text: string): boolean {
  try {
    JSON.parse(text);
    return false;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const position = /at position (\d+)/.exec(message);
    return position ? Number(position[1]) < text.length : !message.startsWith(ENDED_EARLY);
  }
}

// Some V8 messages ("Unexpected token ']', …") carry no offset: the offending character
// is the last one of the shortest prefix that already fails for another reason than ending.
function firstBadOffset(text: string): number {
  let low = 0;
  let high = text.length;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (failsBeforeEnd(text.slice(0, middle + 1))) high = middle;
    else low = middle + 1;
  }
  return low;
}

export function parseJsonText(input: string): JsonText {
  const text = input.startsWith('\uFEFF') ? input.slice(1) : input;
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const position = /at position (\d+)/.exec(message);
    const offset = position
      ? Number(position[1])
      : message.startsWith(ENDED_EARLY)
        ? text.length
        : firstBadOffset(text);
    const reason = message
      .replace(/,? ?"[^]*" is not valid JSON$/, '')
      .replace(/ in JSON at position \d+.*$/, '')
      .replace(/ \(line \d+ column \d+\)$/, '');
    const { line, column } = lineAndColumn(text, offset);
    return { ok: false, line, column, message: `line ${line}, column ${column}: ${reason}` };
  }
}
