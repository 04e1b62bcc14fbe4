import type { CommandRunner, FirewallBackend } from '../../src/firewall/backend.js';
import type { FirewallConfig } from '../../src/config/types.js';
import { selectBackend } from '../../src/firewall/select-backend.js';
import { firewallConfig } from '../firewall/fixtures.js';

// The helpers every suite used to write for itself (graphile/worker keeps its own in one
// __tests__/helpers.ts): a real-time pause, and a backend on a fake runner.

/** Waits `ms` of real time (system tests and watchers; unit tests use a ManualClock instead). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface BackendWithOptions {
  /** Config keys to change from the test default (retries 0, inputPosition 1, …). */
  readonly config?: Partial<FirewallConfig>;
  /** The backend's clock (default 1,000,000 ms). */
  readonly now?: number;
  /** Collects the retry delays the backend asks for (no real waiting either way). */
  readonly sleeps?: number[];
  /** Long-lived sessions when the runner can start processes (default false: one command per change). */
  readonly sessions?: boolean;
}

/** The `backend` as selectBackend builds it, on `runner`, with a fixed clock and no real backoff. */
export function backendWith(
  backend: FirewallConfig['backend'],
  runner: CommandRunner,
  options: BackendWithOptions = {},
): FirewallBackend {
  const now = options.now ?? 1_000_000;
  return selectBackend(firewallConfig(backend, options.config), {
    runner,
    now: () => now,
    sleep: (ms) => {
      options.sleeps?.push(ms);
      return Promise.resolve();
    },
    sessions: options.sessions ?? false,
  });
}
