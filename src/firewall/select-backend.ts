import { delegateBackend } from './delegate-backend.js';
import type { Cidr } from '../model/address.js';
import { KnocktailError, describeValue } from '../model/errors.js';
import type { FirewallConfig } from '../config/types.js';
import { BACKEND_NAMES } from '../config/types.js';
import type { CommandRunner, FirewallBackend } from './backend.js';
import { CommandExecutor } from './command-executor.js';
import { IpsetBackend } from './ipset-backend.js';
import { IptablesBackend } from './iptables-backend.js';
import { isProcessStarter } from './interactive-process.js';
import { NftablesBackend } from './nftables-backend.js';
import { IPSET_DIALECT, LineSession, NFT_DIALECT, restoreDialect } from './line-session.js';
import { sleepFor } from './retry.js';
import { SimulatedFirewall } from './simulated-firewall.js';
import { GRANT_CHAIN, GUARD_CHAIN } from './iptables-args.js';
import type { LogAction } from './log-action.js';
import type { Tracer } from '../trace/stage-trace.js';

export interface BackendDeps {
  readonly runner: CommandRunner;
  readonly now: () => number;
  /** Backoff between retries (default: a real timer); tests pass a fake. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** First retry delay, doubled per retry (default 100 ms). */
  readonly baseDelayMs?: number;
  /** Feed grant changes to one long-lived `iptables-restore --noflush` per family / `ipset -` / `nft -i` when the runner can start one (default true). */
  readonly sessions?: boolean;
  /** Probe DNAT at setup and in the periodic check, and guard published protected ports on the forward path (default false: tests and replay). */
  readonly forward?: boolean;
  /** Marks each session request sent and answered for the latency trace (default: none). */
  readonly tracer?: Tracer;
}

// Builds the configured backend; an unknown name fails fast with the valid choices.
// `logPrefix` comes from Config.logPrefix: the guard's LOG rules must match the parser's prefix;
// `logAction` (selectLogAction) says LOG or NFLOG, by the config's source.
// `dry-run` is the iptables backend against a simulated firewall: it runs nothing, whatever runner is given.
/** `setSize`: limits.maxGrants, the size of each door's ipset/nft set (absent: the tool's default). */
export function selectBackend(
  config: FirewallConfig & {
    logPrefix: string;
    logAction?: LogAction;
    alwaysAllow?: readonly Cidr[];
    setSize?: number;
  },
  deps: BackendDeps,
): FirewallBackend {
  if (config.backend === 'dry-run') {
    // A host where setup ran: grant and revoke work in a fresh process (offline commands) too.
    const simulated =
      deps.runner instanceof SimulatedFirewall
        ? deps.runner
        : new SimulatedFirewall({ now: deps.now, chains: [GRANT_CHAIN, GUARD_CHAIN] });
    return renamed(selectBackend({ ...config, backend: 'iptables' }, { ...deps, runner: simulated }), 'dry-run');
  }
  const exec = new CommandExecutor(deps.runner, {
    retries: config.retries,
    baseDelayMs: deps.baseDelayMs ?? 100,
    sleep: deps.sleep ?? sleepFor,
  });
  const guard = {
    logPrefix: config.logPrefix,
    ...(config.logAction ? { logAction: config.logAction } : {}),
    logRateLimit: config.logRateLimit,
    inputPosition: config.inputPosition,
    alwaysAllow: config.alwaysAllow ?? [],
    ...(config.refusal === undefined ? {} : { refusalSetting: config.refusal }),
  };
  const starter = deps.sessions !== false && isProcessStarter(deps.runner) ? deps.runner : undefined;
  const session = { timeoutMs: 5000, ...(deps.tracer ? { tracer: deps.tracer } : {}) };
  const name: string = config.backend;
  const forward = deps.forward === true;
  switch (name) {
    case 'iptables':
      return new IptablesBackend(
        exec,
        guard,
        deps.now,
        starter && {
          4: new LineSession(starter, restoreDialect(4), session),
          6: new LineSession(starter, restoreDialect(6), session),
        },
        forward,
      );
    case 'ipset':
      return new IpsetBackend(
        exec,
        guard,
        deps.now,
        starter && new LineSession(starter, IPSET_DIALECT, session),
        config.setSize,
        forward,
      );
    case 'nftables':
      return new NftablesBackend(
        exec,
        guard,
        deps.now,
        starter && new LineSession(starter, NFT_DIALECT, session),
        config.setSize,
        forward,
      );
    default:
      throw new KnocktailError(
        'BACKEND_UNKNOWN',
        `Expected firewall.backend to be one of ${BACKEND_NAMES.join(', ')}, got ${describeValue(name)}`,
      );
  }
}

// The same backend under another name (status and audit show `dry-run`).
function renamed(backend: FirewallBackend, name: string): FirewallBackend {
  return delegateBackend(backend, { name, stop: async () => backend.stop?.() });
}
