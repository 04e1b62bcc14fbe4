// Thrown by the cursor and the netfilter field reader only, to leave the positional walk
// from any depth; readNetfilterFields catches it, so it never leaves src/parse.
export class FieldError {
  /** `detail` says what is wrong with the word at `at` when more than "unexpected" is known. */
  constructor(
    readonly at: number,
    readonly detail?: string,
  ) {}
}

// A cursor over the space-separated words of the message, read in place: the hot path
// allocates only the values it keeps (no split, no per-word strings).
export class Words {
  private at: number;

  constructor(
    private readonly text: string,
    start: number,
    private readonly end: number,
  ) {
    this.at = start;
  }

  get position(): number {
    return this.at;
  }

  done(): boolean {
    return this.at >= this.end;
  }

  private wordEnd(): number {
    const space = this.text.indexOf(' ', this.at);
    return space < 0 || space > this.end ? this.end : space;
  }

  /** Whether the next word is exactly `word`. */
  is(word: string): boolean {
    const after = this.at + word.length;
    return this.text.startsWith(word, this.at) && (after >= this.end || this.text.charCodeAt(after) === 32);
  }

  startsWith(text: string): boolean {
    return this.at < this.end && this.text.startsWith(text, this.at);
  }

  peek(): string | undefined {
    return this.at < this.end ? this.text.slice(this.at, this.wordEnd()) : undefined;
  }

  skip(): void {
    this.at = this.wordEnd() + 1;
  }

  take(): string {
    if (this.at >= this.end) throw new FieldError(this.at);
    const word = this.text.slice(this.at, this.wordEnd());
    this.skip();
    return word;
  }

  private valueStart(key: string): number {
    if (this.at >= this.end) throw new FieldError(this.at);
    const start = this.at + key.length + 1;
    if (this.text.charCodeAt(start - 1) !== 61 || !this.text.startsWith(key, this.at)) throw new FieldError(this.at);
    return start;
  }

  /** The value (possibly empty) of the next word, which must be `KEY=value`. */
  value(key: string): string {
    const start = this.valueStart(key);
    const end = this.wordEnd();
    this.at = end + 1;
    return this.text.slice(start, end);
  }

  /** Check and pass a `KEY=value` word whose value knocktail does not need. */
  skipValue(key: string): void {
    this.valueStart(key);
    this.skip();
  }

  number(key: string, max: number): number {
    const word = this.at;
    const start = this.valueStart(key);
    const end = this.wordEnd();
    if (end === start) throw new FieldError(word, 'not a number');
    // The kernel prints numbers with %u: "031600" is no port it ever wrote.
    if (end - start > 1 && this.text.charCodeAt(start) === 48) throw new FieldError(word, 'leading zero');
    let n = 0;
    for (let i = start; i < end; i++) {
      const c = this.text.charCodeAt(i) - 48;
      if (c < 0 || c > 9) throw new FieldError(word, 'not a number');
      n = n * 10 + c;
    }
    if (end - start > 10 || n > max) throw new FieldError(word, `above ${max}`);
    this.at = end + 1;
    return n;
  }

  /** A `KEY=0xHH` word as the kernel prints TOS and PREC (0x%02X); `bare`: `KEY=HH`, as ulogd's PRINTPKT prints TOS (%02X). */
  hex(key: string, bare = false): void {
    const word = this.at;
    const start = this.valueStart(key);
    const end = this.wordEnd();
    const t = this.text;
    const digits = bare ? start : start + 2;
    if (
      end - digits !== 2 ||
      (!bare && (t.charCodeAt(start) !== 48 || t.charCodeAt(start + 1) !== 120)) ||
      !isUpperHex(t.charCodeAt(digits)) ||
      !isUpperHex(t.charCodeAt(digits + 1))
    ) {
      throw new FieldError(word, bare ? 'not HH' : 'not 0xHH');
    }
    this.at = end + 1;
  }

  optionalValue(key: string): string | undefined {
    return this.startsWith(`${key}=`) ? this.value(key) : undefined;
  }

  /** The key of the `KEY=value` word at `at` (up to 16 characters), or undefined. */
  keyAt(at: number): string | undefined {
    const end = Math.min(this.end, at + 17);
    const eq = this.text.indexOf('=', at);
    if (eq < 0 || eq >= end) return undefined;
    const key = this.text.slice(at, eq);
    return /^[A-Za-z0-9_]+$/.test(key) ? key : undefined;
  }

  /** Whether the word that failed at `at` is the last one. */
  isLastWord(at: number): boolean {
    const space = this.text.indexOf(' ', at);
    return space < 0 || space >= this.end;
  }
}

function isUpperHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70);
}
