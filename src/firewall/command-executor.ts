import { KnocktailError } from '../model/errors.js';
import type { CommandResult, CommandRunner } from './backend.js';
import { withRetry } from './retry.js';

// Runs firewall commands with retries: an exit status outside `accept` is retried
// `retries` times with backoff, then reported as FIREWALL_COMMAND with argv, status and stderr.
export interface ExecutorOptions {
  readonly retries: number;
  readonly baseDelayMs?: number;
  readonly sleep: (ms: number) => Promise<void>;
}

export class CommandExecutor {
  private readonly runner: CommandRunner;
  private readonly options: ExecutorOptions;

  constructor(runner: CommandRunner, options: ExecutorOptions) {
    this.runner = runner;
    this.options = options;
  }

  /** The result once the exit status is one of `accept` (default [0]). */
  async run(
    argv: readonly string[],
    options: { input?: string; accept?: readonly number[] } = {},
  ): Promise<CommandResult> {
    const accept = options.accept ?? [0];
    let last: CommandResult | undefined;
    try {
      return await withRetry(
        async () => {
          const result = await this.runner.run(argv, options.input === undefined ? {} : { input: options.input });
          last = result;
          if (!accept.includes(result.exitCode)) throw new Error(`exit ${result.exitCode}`);
          return result;
        },
        {
          retries: this.options.retries,
          baseDelayMs: this.options.baseDelayMs ?? 100,
          sleep: this.options.sleep,
          retryable: (error) => !(error instanceof KnocktailError),
        },
      );
    } catch (error) {
      if (error instanceof KnocktailError || last === undefined) throw error;
      const attempts = this.options.retries + 1;
      throw new KnocktailError(
        'FIREWALL_COMMAND',
        `Expected \`${argv.join(' ')}\` to exit with ${accept.join(' or ')}, got exit ${last.exitCode} after ${attempts} attempt(s): ${last.stderr.trim() || '(no stderr)'}`,
        { cause: error },
      );
    }
  }

  /** A yes/no question (`iptables -C`, `-S CHAIN`): exit 0 is yes, 1 is no, anything else is retried. */
  async ask(argv: readonly string[]): Promise<boolean> {
    return (await this.run(argv, { accept: [0, 1] })).exitCode === 0;
  }
}
