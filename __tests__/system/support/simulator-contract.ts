import type { CommandRunner, FirewallBackend } from '../../../src/firewall/backend.js';
import type { InteractiveProcess, ProcessStarter } from '../../../src/firewall/interactive-process.js';
import { selectBackend } from '../../../src/firewall/select-backend.js';
import type { FirewallConfig } from '../../../src/config/types.js';
import { firewallConfig } from '../../firewall/fixtures.js';

// For the tests that run the same backend calls against the real tools in a namespace and
// against SimulatedFirewall (replay's and dry-run's firewall): a runner that records every
// command and session line it passes on, and a backend built on it.
export type Runner = CommandRunner & ProcessStarter;

export interface Side {
  readonly runner: Runner;
  readonly backend: FirewallBackend;
  /** Every command (argv, with its input) and session write, in order; session markers left out. */
  readonly log: string[];
}

function recording(inner: Runner, log: string[]): Runner {
  return {
    run: (argv, options) => {
      log.push(`${argv.join(' ')}${options?.input ? ` <<< ${options.input}` : ''}`);
      return inner.run(argv, options);
    },
    start: (argv) => {
      const process: InteractiveProcess = inner.start(argv);
      return {
        write: (text) => {
          log.push(`${argv.join(' ')} <<< ${text.replace(/[^\n]*knocktail-sync-\d+[^\n]*\n/g, '')}`);
          process.write(text);
        },
        onStderr: (fn) => process.onStderr(fn),
        onStdout: (fn) => process.onStdout?.(fn),
        onExit: (fn) => process.onExit(fn),
        kill: () => process.kill(),
        ref: () => process.ref(),
        unref: () => process.unref(),
      };
    },
  };
}

/** One side of a contract test: `backend` on `inner`, everything it runs recorded. */
export function contractSide(backend: FirewallConfig['backend'], inner: Runner, now: number): Side {
  const log: string[] = [];
  const runner = recording(inner, log);
  return { runner, log, backend: selectBackend({ ...firewallConfig(backend), logPrefix: `ktsim-${process.pid}: ` }, { runner, now: () => now, baseDelayMs: 10 }) };
}
