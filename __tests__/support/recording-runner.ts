import type { CommandResult, CommandRunner } from '../../src/firewall/backend.js';

// A fake CommandRunner for unit tests: records every argv (and stdin) and answers from a
// script of rules, first match wins; unmatched commands succeed with empty output.
export interface RecordedCommand {
  readonly argv: readonly string[];
  readonly input?: string;
}

export type ScriptedAnswer =
  Partial<CommandResult> | ((argv: readonly string[], input: string | undefined) => Partial<CommandResult>);

interface ScriptRule {
  readonly match: (argv: readonly string[]) => boolean;
  answer: ScriptedAnswer;
  /** How many more times this rule answers; Infinity for always. */
  remaining: number;
}

export class RecordingRunner implements CommandRunner {
  readonly calls: RecordedCommand[] = [];
  private readonly rules: ScriptRule[] = [];

  /** Answer commands whose argv starts with `prefix` (or satisfies the predicate), `times` times. */
  on(
    prefix: readonly string[] | ((argv: readonly string[]) => boolean),
    answer: ScriptedAnswer,
    times = Infinity,
  ): this {
    const match =
      typeof prefix === 'function' ? prefix : (argv: readonly string[]) => prefix.every((part, i) => argv[i] === part);
    this.rules.push({ match, answer, remaining: times });
    return this;
  }

  run(argv: readonly string[], options: { input?: string } = {}): Promise<CommandResult> {
    // The executor runs now, so the call is recorded at once; a scripted answer that throws becomes a rejection.
    return new Promise((resolve) => {
      resolve(this.answer(argv, options.input));
    });
  }

  private answer(argv: readonly string[], input: string | undefined): CommandResult {
    this.calls.push(input === undefined ? { argv: [...argv] } : { argv: [...argv], input });
    const rule = this.rules.find((candidate) => candidate.remaining > 0 && candidate.match(argv));
    if (!rule) return { exitCode: 0, stdout: '', stderr: '' };
    rule.remaining--;
    const answer = typeof rule.answer === 'function' ? rule.answer(argv, input) : rule.answer;
    return { exitCode: answer.exitCode ?? 0, stdout: answer.stdout ?? '', stderr: answer.stderr ?? '' };
  }

  /** Every argv run so far, joined by spaces, for compact assertions. */
  lines(): string[] {
    return this.calls.map((call) => call.argv.join(' '));
  }

  clear(): void {
    this.calls.length = 0;
  }
}
