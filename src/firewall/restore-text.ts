// iptables-restore input is one rule per line, split into words by the tool itself (no shell):
// a word with blanks, quotes or backslashes goes in double quotes with `"` and `\` escaped, the
// way iptables-save writes comments and log prefixes.
export function formatRestoreWord(word: string): string {
  if (word !== '' && !/[\s"'\\#]/.test(word)) return word;
  return `"${word.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** One rule line (`-A CHAIN …`) of a restore transaction. */
export function formatRestoreLine(words: readonly string[]): string {
  if (words.some((word) => /[\n\r]/.test(word))) throw new Error(`Expected rule words without line breaks, got ${JSON.stringify(words)}`);
  return words.map(formatRestoreWord).join(' ');
}

/** One `*filter … COMMIT` transaction from rule lines (each an argv without the binary). */
export function buildFilterTransaction(rules: readonly (readonly string[])[]): string {
  return `*filter\n${rules.map(formatRestoreLine).join('\n')}${rules.length > 0 ? '\n' : ''}COMMIT\n`;
}
