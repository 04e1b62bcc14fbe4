import type { CommandResult } from './backend.js';
import { splitRuleLine } from './iptables-listing.js';
import { formatRestoreWord, isFormattedRestoreText } from './restore-text.js';

// What iptables/ip6tables would answer, for the simulated firewall (replay, dry-run): chains
// of rule specs in memory, the exit codes and messages the real tool gives (exit 1 from `-C`
// for a missing rule, from `-N` for an existing chain). Membership is O(1) per rule.
// A rule is keyed by its canonical restore text (formatRestoreLine of its words, which
// splitRuleLine undoes, so equal keys mean equal words): replay feeds one restore line per
// grant change, and a line already in that form is applied by its text, without a split.
const BUILTIN = ['INPUT', 'FORWARD', 'OUTPUT'];
const NO_CHAIN = 'iptables: No chain/target/match by that name.';
const BAD_RULE = 'iptables: Bad rule (does a matching rule exist in that chain?).';

const ok = (stdout = ''): CommandResult => (stdout === '' ? OK : { exitCode: 0, stdout, stderr: '' });
const fail = (stderr: string): CommandResult =>
  stderr === BAD_RULE ? BAD_RULE_RESULT : { exitCode: 1, stdout: '', stderr: `${stderr}\n` };
// The answers of nearly every grant command, shared (results are never mutated).
const OK: CommandResult = Object.freeze({ exitCode: 0, stdout: '', stderr: '' });
const BAD_RULE_RESULT: CommandResult = Object.freeze({ exitCode: 1, stdout: '', stderr: `${BAD_RULE}\n` });

function cleanWords(argv: readonly string[]): string[] {
  const words = argv.slice(1).filter((word) => word !== '-w');
  const table = words.indexOf('-t');
  if (table !== -1) words.splice(table, 2);
  return words;
}

/** The key of a rule spec: its canonical restore text. */
function ruleKey(words: readonly string[]): string {
  return words.map(formatRestoreWord).join(' ');
}

/**
 * `-A CHAIN rest`, `-D …`, `-C …` with a plain chain name (printable, no quote) and some text
 * after it: where the chain name ends (the chain starts at 3), or -1 for any other line.
 */
function simpleRuleLine(line: string): number {
  const op = line.charCodeAt(1);
  if (line.charCodeAt(0) !== 45 || (op !== 65 && op !== 67 && op !== 68) || line.charCodeAt(2) !== 32) return -1;
  let i = 3;
  for (; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 32) break;
    if (c < 33 || c > 126 || c === 34) return -1;
  }
  if (i === 3 || i >= line.length - 1) return -1;
  // run() drops these words wherever they are, so they are never a chain there.
  if (i === 5 && line.charCodeAt(3) === 45 && (line.charCodeAt(4) === 119 || line.charCodeAt(4) === 116)) return -1;
  return i;
}

/** Whether `text` may hold the word `flag` (also true when it is only inside a quoted word). */
function mayHoldWord(text: string, flag: '-t' | '-w'): boolean {
  if (!text.includes(flag)) return false;
  return text.startsWith(`${flag} `) || text.includes(` ${flag} `) || text.endsWith(` ${flag}`) || text === flag;
}

/** Text that is its own key: the formatted restore text of its words, none of them a flag run() drops (-w, -t). */
function isKeyText(text: string): boolean {
  return isFormattedRestoreText(text) && !mayHoldWord(text, '-w') && !mayHoldWord(text, '-t');
}

/** One word as `iptables -S` prints it: double quotes around words with spaces. */
function quoteWord(word: string): string {
  return /[\s"]/.test(word) ? `"${word.replace(/(["\\])/g, '\\$1')}"` : word;
}

type Rules = Map<string, readonly string[] | null>;

/** A restore line the text path takes: its op (`A`, `C`, `D` as char codes), chain, that chain's rules and the rule text. */
interface TextLine {
  readonly op: number;
  readonly chain: string;
  readonly rules: Rules;
  readonly rest: string;
}

/**
 * What the transaction being restored changed, so that a later line's failure undoes it:
 * iptables-restore applies a COMMIT all or nothing. `chains`: a chain as it was before the
 * transaction first changed it other than by an append (undefined: it did not exist);
 * `added`: rules appended to a chain with no entry in `chains`, removed again.
 */
interface Journal {
  readonly chains: Map<string, Rules | undefined>;
  readonly added: { readonly chain: string; readonly rules: Rules; readonly key: string }[];
}

export class SimulatedTables {
  /** Per chain, its rules in order: key (ruleKey) → words, or null until a listing needs them. */
  private readonly chains: Map<string, Rules>;
  /** Set while a transaction of two or more changes is restored. */
  private journal: Journal | undefined;

  /** `chains`: user chains that exist from the start (empty). */
  constructor(chains: readonly string[] = []) {
    this.chains = new Map([...BUILTIN, ...chains].map((name) => [name, new Map<string, readonly string[] | null>()]));
  }

  /** Runs one iptables argv (binary first); flags iptables accepts but that change nothing here are skipped. */
  run(argv: readonly string[]): CommandResult {
    // Replay runs this per grant change: the common `iptables -w OP CHAIN SPEC…` shape skips the general clean-up.
    const words = argv[1] === '-w' && argv[2] !== '-t' && !argv.includes('-w', 2) ? argv.slice(2) : cleanWords(argv);
    const op = words[0];
    const chain = words[1];
    const rest = words.slice(2);
    if (op === '-S') return chain === undefined ? ok(this.save()) : this.list(chain);
    if (chain === undefined) return fail(`iptables: option ${op ?? '(none)'} needs a chain`);
    const rules = this.chains.get(chain);
    switch (op) {
      case '-N':
        if (rules) return fail('iptables: Chain already exists.');
        this.remember(chain, () => undefined);
        this.chains.set(chain, new Map());
        return ok();
      case '-X':
        if (!rules) return fail(NO_CHAIN);
        this.remember(chain, () => rules);
        this.chains.delete(chain);
        return ok();
      case '-F':
        if (!rules) return fail(NO_CHAIN);
        this.remember(chain, () => new Map(rules));
        rules.clear();
        return ok();
      case '-C':
        return rules?.has(ruleKey(rest)) ? ok() : fail(rules ? BAD_RULE : NO_CHAIN);
      case '-A':
        if (!rules) return fail(NO_CHAIN);
        this.append(chain, rules, ruleKey(rest), rest);
        return ok();
      case '-I':
        return rules ? this.insert(chain, rules, rest) : fail(NO_CHAIN);
      case '-D':
        return rules ? this.delete(chain, rules, rest) : fail(NO_CHAIN);
      default:
        return fail(`iptables: unknown option ${op ?? ''}`);
    }
  }

  /** Applies an iptables-restore input (`--noflush`): chain declarations flush, rule lines run as above. */
  restore(input: string): CommandResult {
    return this.restoreLines(input.split('\n'));
  }

  /** restore() of input already cut into lines (a session's transaction). */
  restoreLines(lines: readonly string[]): CommandResult {
    // Each COMMIT closes a transaction: it applies all or nothing, as iptables-restore does.
    let changes = 0;
    let from = 0;
    for (let at = 0; at <= lines.length; at++) {
      const line = at < lines.length ? lines[at]!.trim() : 'COMMIT';
      if (line !== 'COMMIT') {
        if (line !== '' && !line.startsWith('#') && !line.startsWith('*')) changes++;
        continue;
      }
      const result = this.transaction(lines, from, at, changes);
      if (result.exitCode !== 0) return result;
      changes = 0;
      from = at + 1;
    }
    return ok();
  }

  // Lines [from, to) of one transaction with `changes` rule or chain lines. One that cannot
  // fail (sureLines: every grant change, a refresh and a multi-port open or close included) is
  // applied as it is. Any other with more than one change keeps a journal of the changes
  // before the last (the last one, failing, changed nothing; succeeding, stays) to undo them.
  private transaction(lines: readonly string[], from: number, to: number, changes: number): CommandResult {
    if (changes > 1) {
      const sure = this.sureLines(lines, from, to);
      if (sure) {
        for (const text of sure) this.applyText(text);
        return ok();
      }
    }
    const journal: Journal | undefined = changes > 1 ? { chains: new Map(), added: [] } : undefined;
    this.journal = journal;
    let seen = 0;
    try {
      for (let at = from; at < to; at++) {
        const line = lines[at]!.trim();
        if (line === '' || line.startsWith('#') || line.startsWith('*')) continue;
        if (++seen === changes) this.journal = undefined;
        if (line.startsWith(':')) {
          const name = line.slice(1).split(/\s+/)[0]!;
          if (!BUILTIN.includes(name)) {
            this.remember(name, () => this.chains.get(name));
            this.chains.set(name, new Map());
          }
          continue;
        }
        if (this.applyByText(line)) continue;
        const result = this.run(['iptables', ...splitRuleLine(line)]);
        if (result.exitCode !== 0) {
          if (journal) this.undo(journal);
          return { ...result, stderr: `iptables-restore: line failed: ${line}\n${result.stderr}` };
        }
      }
      return ok();
    } finally {
      this.journal = undefined;
    }
  }

  // Appends a rule; the journal notes it only when it is new to the chain (a second -A of the same words changes nothing here).
  private append(chain: string, rules: Rules, key: string, words: readonly string[] | null): void {
    if (this.journal && !rules.has(key)) this.journal.added.push({ chain, rules, key });
    rules.set(key, words);
  }

  /**
   * Before a transaction changes `chain` other than by appending: what it held before the
   * transaction (`before()`: a copy, or a map about to go out of use; undefined: no such
   * chain), asked for only the first time. Rules the transaction appended are taken out again.
   */
  private remember(chain: string, before: () => Rules | undefined): void {
    const journal = this.journal;
    if (!journal || journal.chains.has(chain)) return;
    const live = this.chains.get(chain);
    const saved = before();
    if (saved) for (const { rules, key } of journal.added) if (rules === live) saved.delete(key);
    journal.chains.set(chain, saved);
  }

  private undo(journal: Journal): void {
    for (const { chain, rules, key } of journal.added) if (!journal.chains.has(chain)) rules.delete(key);
    for (const [chain, before] of journal.chains) {
      if (before) this.chains.set(chain, before);
      else this.chains.delete(chain);
    }
  }

  /**
   * A restore line the text path takes as it stands: `-A` of a rule in key form to an existing
   * chain (it cannot fail), `-D`/`-C` of a rule that chain holds by that text. Undefined for
   * whatever else (a miss, any other shape), which goes through the split and run().
   */
  private textLine(line: string): TextLine | undefined {
    const chainEnd = simpleRuleLine(line);
    if (chainEnd === -1) return undefined;
    const chain = line.slice(3, chainEnd);
    const rules = this.chains.get(chain);
    if (!rules) return undefined;
    const op = line.charCodeAt(1);
    const rest = line.slice(chainEnd + 1);
    if (op === 65) return isKeyText(rest) ? { op, chain, rules, rest } : undefined;
    // `-D CHAIN 3` deletes by position; a second -t, which run() would not drop, can be in a key.
    if (!rules.has(rest) || mayHoldWord(rest, '-t') || /^\d+$/.test(rest)) return undefined;
    return { op, chain, rules, rest };
  }

  /** Applies a line the text path takes (textLine); false for any other line. */
  private applyByText(line: string): boolean {
    const text = this.textLine(line);
    if (!text) return false;
    this.applyText(text);
    return true;
  }

  private applyText({ op, chain, rules, rest }: TextLine): void {
    if (op === 65) this.append(chain, rules, rest, null);
    else if (op === 68) {
      if (this.journal) this.remember(chain, () => new Map(rules));
      rules.delete(rest);
    }
  }

  /**
   * The transaction's lines when none of them can fail: each is a text-path line (textLine),
   * and no rule is deleted or checked after an earlier line deleted it. Such a transaction
   * needs no journal (a multi-port close or refresh would otherwise copy the chain, O(grants)
   * per change), and its lines are applied as read here. Undefined otherwise.
   */
  private sureLines(lines: readonly string[], from: number, to: number): TextLine[] | undefined {
    const sure: TextLine[] = [];
    let deleted: Set<string> | undefined;
    for (let at = from; at < to; at++) {
      const line = lines[at]!.trim();
      if (line === '' || line.startsWith('#') || line.startsWith('*')) continue;
      const text = this.textLine(line);
      if (!text) return undefined;
      sure.push(text);
      if (text.op === 65) continue;
      const id = `${text.chain} ${text.rest}`;
      if (deleted?.has(id)) return undefined;
      if (text.op === 68) (deleted ??= new Set()).add(id);
    }
    return sure;
  }

  private insert(chain: string, rules: Rules, rest: readonly string[]): CommandResult {
    const position = /^\d+$/.test(rest[0] ?? '') ? Number(rest[0]) : 1;
    const spec = /^\d+$/.test(rest[0] ?? '') ? rest.slice(1) : rest;
    const entries = [...rules.entries()];
    if (position < 1 || position > entries.length + 1) return fail('iptables: Index of insertion too big.');
    entries.splice(position - 1, 0, [ruleKey(spec), spec]);
    this.remember(chain, () => rules);
    this.chains.set(chain, new Map(entries));
    return ok();
  }

  private delete(chain: string, rules: Rules, rest: readonly string[]): CommandResult {
    const key = rest.length === 1 && /^\d+$/.test(rest[0]!) ? [...rules.keys()][Number(rest[0]) - 1] : ruleKey(rest);
    if (key === undefined) return fail('iptables: Index of deletion too big.');
    if (!rules.has(key)) return fail(BAD_RULE);
    if (this.journal) this.remember(chain, () => new Map(rules));
    rules.delete(key);
    return ok();
  }

  private list(chain: string): CommandResult {
    const rules = this.chains.get(chain);
    if (!rules) return fail(NO_CHAIN);
    const head = BUILTIN.includes(chain) ? `-P ${chain} ACCEPT` : `-N ${chain}`;
    return ok(
      [
        head,
        ...[...rules].map(([key, spec]) => `-A ${chain} ${(spec ?? splitRuleLine(key)).map(quoteWord).join(' ')}`),
      ].join('\n') + '\n',
    );
  }

  private save(): string {
    return [...this.chains.keys()].map((chain) => this.list(chain).stdout).join('');
  }
}
