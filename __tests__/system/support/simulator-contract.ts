import type { CommandRunner, FirewallBackend } from '../../../src/firewall/backend.js';
import type { InteractiveProcess, ProcessStarter } from '../../../src/firewall/interactive-process.js';
import { selectBackend } from '../../../src/firewall/select-backend.js';
import type { FirewallConfig } from '../../../src/config/types.js';
import type { Grant } from '../../../src/model/grant.js';
import { firewallConfig, grantFor, pingDoor, sshDoor } from '../../firewall/fixtures.js';

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
  return {
    runner,
    log,
    backend: selectBackend(
      { ...firewallConfig(backend), logPrefix: `ktsim-${process.pid}: ` },
      { runner, now: () => now, baseDelayMs: 10 },
    ),
  };
}

/** The same change on the real side, then on the simulated one. */
export async function applyBoth(
  real: Side,
  simulated: Side,
  change: (backend: FirewallBackend) => Promise<void>,
): Promise<void> {
  await change(real.backend);
  await change(simulated.backend);
}

/**
 * The calls of a daemon's life, on both sides: setup, opens over IPv4 and IPv6 and an
 * until-closed one, a refresh, the same refresh again, a close and a reopen. Returns the grants.
 */
export async function everydayChanges(
  real: Side,
  simulated: Side,
  now: number,
): Promise<{ v4: Grant; v6: Grant; untilClosed: Grant }> {
  const v4 = grantFor('198.51.100.7', { until: now + 60_000 });
  const v6 = grantFor('2001:db8::7', { door: 'web', ports: pingDoor.open, until: now + 60_000 });
  const untilClosed = grantFor('198.51.100.8', { until: null });
  const apply = (change: (backend: FirewallBackend) => Promise<void>): Promise<void> =>
    applyBoth(real, simulated, change);
  await apply((backend) => backend.setup([sshDoor, pingDoor]));
  await apply((backend) => backend.open(v4));
  await apply((backend) => backend.open(v6));
  await apply((backend) => backend.open(untilClosed));
  await apply((backend) => backend.open({ ...v4, until: v4.until! + 30_000 }));
  await apply((backend) => backend.open({ ...v4, until: v4.until! + 30_000 }));
  await apply((backend) => backend.close(v6));
  await apply((backend) => backend.open(v6));
  return { v4, v6, untilClosed };
}
