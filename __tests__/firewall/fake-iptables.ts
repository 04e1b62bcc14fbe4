import type { CommandResult, CommandRunner } from '../../src/firewall/backend.js';
import type { InteractiveProcess, ProcessStarter } from '../../src/firewall/interactive-process.js';
import { splitRuleLine } from '../../src/firewall/iptables-listing.js';
import { formatRestoreLine } from '../../src/firewall/restore-text.js';

// A model of chain KNOCKTAIL in both families, for the iptables backend's unit tests: `-S KNOCKTAIL`
// lists it the way iptables-save writes rules, `iptables-restore --noflush` applies a transaction
// whole or not at all (a `-D` of a rule that is not there fails it, like the real tool), and
// `start()` gives a `-v` session that echoes `#` lines on stdout and exits on the first failure.
export class FakeIptables implements CommandRunner, ProcessStarter {
  readonly chains: Record<'4' | '6', string[]> = { '4': [], '6': [] };
  readonly commands: { argv: readonly string[]; input?: string }[] = [];
  readonly sessions: FakeRestoreProcess[] = [];
  /** The next `n` transactions fail (through a session or one-shot). */
  failNext = 0;

  run(argv: readonly string[], options: { input?: string } = {}): Promise<CommandResult> {
    // The executor runs now, as an async body would, so a throw becomes a rejection.
    return new Promise((resolve) => {
      resolve(this.answer(argv, options));
    });
  }

  private answer(argv: readonly string[], options: { input?: string }): CommandResult {
    this.commands.push(options.input === undefined ? { argv } : { argv, input: options.input });
    const family = argv[0]!.startsWith('ip6') ? '6' : '4';
    if (argv[2] === '-S' && argv[3] === 'KNOCKTAIL')
      return {
        exitCode: 0,
        stdout: ['-N KNOCKTAIL', ...this.chains[family].map((rule) => `-A KNOCKTAIL ${rule}`)].join('\n') + '\n',
        stderr: '',
      };
    if (argv[0]!.endsWith('-restore')) {
      const error = this.apply(family, options.input ?? '');
      return { exitCode: error ? 1 : 0, stdout: '', stderr: error ?? '' };
    }
    return { exitCode: 0, stdout: '', stderr: '' };
  }

  start(argv: readonly string[]): InteractiveProcess {
    const process = new FakeRestoreProcess(argv, this);
    this.sessions.push(process);
    return process;
  }

  /** Applies a `*filter … COMMIT` text atomically; the error text, or undefined on success. */
  apply(family: '4' | '6', text: string): string | undefined {
    if (this.failNext > 0) {
      this.failNext--;
      return 'iptables-restore: line 2 failed';
    }
    const next = [...this.chains[family]];
    for (const line of text.split('\n')) {
      const words = splitRuleLine(line);
      if (words[1] !== 'KNOCKTAIL') continue;
      const rule = formatRestoreLine(words.slice(2));
      if (words[0] === '-A') next.push(rule);
      if (words[0] === '-D') {
        const index = next.indexOf(rule);
        if (index === -1)
          return 'iptables-restore: line 2 failed: Bad rule (does a matching rule exist in that chain?).';
        next.splice(index, 1);
      }
    }
    this.chains[family] = next;
    return undefined;
  }
}

export class FakeRestoreProcess implements InteractiveProcess {
  readonly written: string[] = [];
  exited = false;
  private stdout: ((chunk: string) => void)[] = [];
  private stderr: ((chunk: string) => void)[] = [];
  private exit: (() => void)[] = [];
  private buffer = '';

  constructor(
    readonly argv: readonly string[],
    private readonly model: FakeIptables,
  ) {}

  write(text: string): void {
    this.written.push(text);
    this.buffer += text;
    const family = this.argv[0]!.startsWith('ip6') ? '6' : '4';
    let transaction = '';
    for (const line of this.buffer.split('\n').slice(0, -1)) {
      if (line.startsWith('#')) setImmediate(() => this.stdout.forEach((fn) => fn(`${line}\n`)));
      else transaction += `${line}\n`;
      if (line === 'COMMIT') {
        const error = this.model.apply(family, transaction);
        transaction = '';
        if (error) {
          setImmediate(() => {
            this.stderr.forEach((fn) => fn(`${error}\n`));
            this.exited = true;
            this.exit.forEach((fn) => fn());
          });
          this.buffer = '';
          return;
        }
      }
    }
    this.buffer = this.buffer.slice(this.buffer.lastIndexOf('\n') + 1);
  }

  onStdout(fn: (chunk: string) => void): void {
    this.stdout.push(fn);
  }

  onStderr(fn: (chunk: string) => void): void {
    this.stderr.push(fn);
  }

  onExit(fn: () => void): void {
    this.exit.push(fn);
  }

  kill(): void {
    setImmediate(() => this.exit.forEach((fn) => fn()));
  }

  ref(): void {}
  unref(): void {}
}
