// iptables-restore input is one rule per line, split into words by the tool itself (no shell):
// a word with blanks, quotes or backslashes goes in double quotes with `"` and `\` escaped, the
// way iptables-save writes comments and log prefixes. Built per grant change, so words are
// looked at char by char (no regex) and the common word needs no copy.

/** What a word needs: bit QUOTE double quotes, bit ESCAPE a `\` before some chars, bit BREAK it holds a line break. */
const QUOTE = 1;
const ESCAPE = 2;
const BREAK = 4;
const UNICODE_SPACE = /\s/;

/** What the char at `i` makes its word need (0: nothing): blanks (ASCII or Unicode), quotes, `#`, backslashes, line breaks. */
function charNeeds(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c > 127) return UNICODE_SPACE.test(text.charAt(i)) ? QUOTE : 0;
  if (c === 34 || c === 92) return QUOTE | ESCAPE;
  if (c === 10 || c === 13) return QUOTE | BREAK;
  return c === 32 || c === 35 || c === 39 || (c >= 9 && c <= 13) ? QUOTE : 0;
}

function wordNeeds(word: string): number {
  if (word === '') return QUOTE;
  let needs = 0;
  for (let i = 0; i < word.length; i++) needs |= charNeeds(word, i);
  return needs;
}

function quoted(word: string, needs: number): string {
  if ((needs & QUOTE) === 0) return word;
  return `"${(needs & ESCAPE) === 0 ? word : word.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export function formatRestoreWord(word: string): string {
  return quoted(word, wordNeeds(word));
}

/** One rule line (`-A CHAIN …`) of a restore transaction. */
export function formatRestoreLine(words: readonly string[]): string {
  // One join, not a `+=` per word: each `+=` would leave a rope node to flatten later.
  const parts = new Array<string>(words.length);
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const needs = wordNeeds(word);
    if ((needs & BREAK) !== 0) throw new Error(`Expected rule words without line breaks, got ${JSON.stringify(words)}`);
    parts[i] = quoted(word, needs);
  }
  return parts.join(' ');
}

/**
 * Whether `text` (one word or more) is exactly what formatRestoreLine writes for the words
 * splitRuleLine reads in it: single blanks between words, quotes only where needed, only
 * `\\` and `\"` escapes. One pass, char by char; the simulator keys rules by this form.
 */
export function isFormattedRestoreText(text: string): boolean {
  const n = text.length;
  for (let i = 0; ; i++) {
    const start = i;
    if (text.charCodeAt(i) === 34) {
      // A quoted word: something in it must need the quotes ("" is the empty word).
      let needed = false;
      for (i++; ; i++) {
        if (i >= n) return false;
        const c = text.charCodeAt(i);
        if (c === 34) break;
        if (c === 10 || c === 13) return false;
        if (c === 92) {
          const next = text.charCodeAt(i + 1);
          if (next !== 92 && next !== 34) return false;
          needed = true;
          i++;
        } else if (!needed && charNeeds(text, i) !== 0) needed = true;
      }
      if (!needed && i !== start + 1) return false;
      i++;
    } else {
      for (; i < n && text.charCodeAt(i) !== 32; i++) if (charNeeds(text, i) !== 0) return false;
      if (i === start) return false;
    }
    if (i === n) return true;
    if (text.charCodeAt(i) !== 32) return false;
  }
}

/** One `*filter … COMMIT` transaction from rule lines (each an argv without the binary). */
export function buildFilterTransaction(rules: readonly (readonly string[])[]): string {
  return buildFilterTransactionText(rules.map(formatRestoreLine));
}

/** The same from rule lines already formatted by formatRestoreLine. */
export function buildFilterTransactionText(lines: readonly string[]): string {
  return lines.length === 0 ? '*filter\nCOMMIT\n' : `*filter\n${lines.join('\n')}\nCOMMIT\n`;
}
