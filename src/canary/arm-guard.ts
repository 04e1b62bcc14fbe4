import { KnocktailError } from '../model/errors.js';
import type { FirewallBackend } from '../firewall/backend.js';
import type { Door } from '../model/door.js';
import type { LogPathHealth } from './log-path.js';

// Arms the guard in two phases (docs/guard-rules.md, docs/containers.md): first the log rules
// and the canary, nothing refused; then, once the canary's line came back through the
// configured source, the whole guard. A silent path leaves nothing hidden: the guard is
// removed and a LOG_PATH error says why and what to configure. Callers hold the firewall lock.

/** Sends the canary and waits for its line (src/canary/log-path.ts, bound to the configured source). */
export type ProveLogPath = () => Promise<LogPathHealth>;

/** Sets the guard up; with a prover only once the path is proven. Resolves to the health (undefined without a prover). */
export async function armGuard(
  backend: FirewallBackend,
  doors: readonly Door[],
  prove: ProveLogPath | undefined,
): Promise<LogPathHealth | undefined> {
  if (prove === undefined) {
    await backend.setup(doors);
    return undefined;
  }
  // An armed guard (a reload, a second setup) is replaced armed: passing through the unarmed
  // first phase would open the protected ports for the canary's round trip. The path is proven
  // all the same, and a silent one disarms.
  const rearm = (await backend.isArmed?.()) ?? false;
  await backend.setup(doors, undefined, rearm ? {} : { armed: false });
  const health = await prove();
  if (!health.ok) await backend.teardown();
  else if (!rearm) await backend.setup(doors);
  return health;
}

/** The error for a silent path: what happened, that nothing is hidden, and what to configure. */
export function logPathError(health: Extract<LogPathHealth, { ok: false }>): KnocktailError {
  return new KnocktailError(
    'LOG_PATH',
    `Refusing to arm the guard: ${health.reason}. Knocks could not arrive, so nothing is hidden (the protected ports stay reachable).`,
    {
      details: health.advice.map((line) => `to configure: ${line}`),
    },
  );
}

/** One line for status and logs. */
export function describeLogPath(health: LogPathHealth): string {
  return health.ok
    ? `log path: OK, the canary (udp 127.0.0.1:${health.port}) came back through ${health.source} in ${health.latencyMs.toFixed(1)} ms`
    : `log path: BROKEN, ${health.reason}`;
}
