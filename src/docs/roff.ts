// Text into roff (man(7)) safely: backslashes and hyphens escaped, no line starting with a
// control character, and `code` spans of the descriptions set in bold.
export function roffText(text: string): string {
  const escaped = text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/`([^`]+)`/g, '\\fB$1\\fR')
    // roff input is ASCII: any other character as its Unicode escape (\[u2265] for ≥).
    .replace(/[^\x00-\x7f]/gu, (char) => `\\[u${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`);
  // One sentence per line, as man(7) sources are written (roff then spaces sentences right).
  return escaped
    .replace(/([.?!]) +(?=[A-Z"(])/g, '$1\n')
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n');
}

/** A roff request line, its arguments quoted where they hold spaces. */
export function roffRequest(name: string, ...args: string[]): string {
  return `.${name}${args.map((arg) => (/[\s"]/.test(arg) || arg === '' ? ` "${arg.replace(/"/g, '\\(dq')}"` : ` ${arg}`)).join('')}`;
}

/** A description as a sentence: capitalised, ending in a full stop. */
export function sentence(text: string): string {
  const trimmed = text.trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}
