// knockd.conf as data: `[name]` sections of `key = value` directives (keys are
// case-insensitive, `#` starts a comment line) and bare flags such as `UseSyslog`. Pure:
// no I/O, never throws; lines it cannot read come back as problems with their number.
export interface KnockdDirective {
  readonly key: string;
  readonly value: string;
  readonly line: number;
}

export interface KnockdSection {
  readonly name: string;
  readonly line: number;
  /** Keys lowercased; a key given twice keeps the last value, as knockd does. */
  readonly directives: ReadonlyMap<string, KnockdDirective>;
  /** Bare words without `=` (lowercased), e.g. "usesyslog". */
  readonly flags: readonly KnockdDirective[];
}

export interface KnockdParseProblem {
  readonly line: number;
  readonly message: string;
}

export interface KnockdConfig {
  readonly options?: KnockdSection;
  /** The knock/event sections, in file order. */
  readonly doors: readonly KnockdSection[];
  readonly problems: readonly KnockdParseProblem[];
}

interface SectionDraft {
  name: string;
  line: number;
  directives: Map<string, KnockdDirective>;
  flags: KnockdDirective[];
}

const SECTION = /^\[([^\]]*)\]$/;

export function parseKnockdConfig(text: string): KnockdConfig {
  const sections: SectionDraft[] = [];
  const problems: KnockdParseProblem[] = [];
  let current: SectionDraft | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const section = SECTION.exec(trimmed);
    if (section) {
      const name = section[1]!.trim();
      if (name === '') problems.push({ line, message: 'a section header `[]` without a name' });
      current = { name, line, directives: new Map(), flags: [] };
      sections.push(current);
      return;
    }
    if (!current) {
      problems.push({ line, message: 'a line before any [section]; ignored' });
      return;
    }
    const equals = trimmed.indexOf('=');
    if (equals < 0) {
      current.flags.push({ key: trimmed.toLowerCase(), value: '', line });
      return;
    }
    const key = trimmed.slice(0, equals).trim().toLowerCase();
    if (key === '') {
      problems.push({ line, message: 'a line with no key before "="; ignored' });
      return;
    }
    current.directives.set(key, { key, value: trimmed.slice(equals + 1).trim(), line });
  });
  const isOptions = (s: SectionDraft): boolean => s.name.toLowerCase() === 'options';
  const options = sections.filter(isOptions).at(-1);
  return { ...(options ? { options } : {}), doors: sections.filter((s) => !isOptions(s) && s.name !== ''), problems };
}

/** A knockd `Sequence` value ("7000,8000:udp,9000") as knock steps, or the reason it is not one. */
export function parseKnockdSequence(text: string): { ok: true; steps: string[] } | { ok: false; reason: string } {
  const steps: string[] = [];
  for (const item of text.split(',').map((part) => part.trim())) {
    const match = /^(\d{1,5})(?::(tcp|udp))?$/i.exec(item);
    const port = Number(match?.[1]);
    if (!match || port < 1 || port > 65535) {
      return { ok: false, reason: `expected PORT or PORT:tcp / PORT:udp (port 1-65535), got \`${item}\`` };
    }
    steps.push(`${(match[2] ?? 'tcp').toLowerCase()}:${port}`);
  }
  return { ok: true, steps };
}

/** The sequences of a knockd one_time_sequences file: one per line, `#` lines (used or comments) skipped. */
export function parseOneTimeSequences(text: string): { sequences: string[][]; problems: KnockdParseProblem[] } {
  const sequences: string[][] = [];
  const problems: KnockdParseProblem[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const parsed = parseKnockdSequence(trimmed);
    // The line itself is never quoted: the file may be anything (under sudo, /etc/shadow).
    if (parsed.ok) sequences.push(parsed.steps);
    else
      problems.push({
        line: index + 1,
        message: 'not a knock sequence: expected PORT, PORT:tcp or PORT:udp items separated by commas (ports 1-65535)',
      });
  });
  return { sequences, problems };
}
