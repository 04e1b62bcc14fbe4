import type { BackendName } from '../config/types.js';
import { KnocktailError } from '../model/errors.js';
import type { PortSpec } from '../model/door.js';
import type { CommandRunner, FirewallBackend } from './backend.js';
import { delegateBackend } from './delegate-backend.js';
import { detectHostFirewall } from './host-firewall.js';
import type { BlockingChain } from './host-firewall.js';
import { chooseRefusal } from './refusal.js';
import type { GuardHost, RefusalSetting } from './refusal.js';
import { describeHostFirewall, hostFirewallError, judgeHostFirewall } from './host-firewall-policy.js';
import type { HostFirewallVerdict } from './host-firewall-policy.js';

// Reads the live ruleset and judges it for the configured backend; wraps a backend so that
// `setup` refuses when the host's firewall would make every grant a silent no-op, and hands
// the guard the facts it adapts to (the refusal the host gives unused ports, the listeners).
export const NFT_RULESET_ARGV: readonly string[] = ['nft', '-j', 'list', 'ruleset'];

export type HostFirewallMode = 'check' | 'ignore';

export type HostFirewallProbe =
  | { readonly checked: true; readonly verdict: HostFirewallVerdict }
  | { readonly checked: false; readonly reason: string };

/** Lists the ruleset through `runner`; anything that prevents a look is "not checked", never an error. */
export async function probeHostFirewall(runner: CommandRunner, backend: BackendName): Promise<HostFirewallProbe> {
  if (backend === 'dry-run') return { checked: false, reason: 'the dry-run backend changes no firewall' };
  let result;
  try {
    result = await runner.run(NFT_RULESET_ARGV);
  } catch (error) {
    // No nft binary: a legacy-iptables host, whose rules knocktail's iptables jump shares.
    if (error instanceof KnocktailError && error.code === 'BINARY_MISSING')
      return { checked: false, reason: '`nft` is not installed, so there is no nftables ruleset to inspect' };
    throw error;
  }
  if (result.exitCode !== 0)
    return {
      checked: false,
      reason: `\`nft -j list ruleset\` failed: ${result.stderr.trim() || `exit ${result.exitCode}`}`,
    };
  const scan = detectHostFirewall(result.stdout);
  if (!scan.ok)
    return { checked: false, reason: `\`nft -j list ruleset\` printed something unexpected: ${scan.reason}` };
  return { checked: true, verdict: judgeHostFirewall(scan.blocking, backend) };
}

/** The line `check-config` and `rules` print. */
export function describeHostFirewallProbe(
  probe: HostFirewallProbe,
  backend: BackendName,
  mode: HostFirewallMode,
): string {
  if (!probe.checked) return `host firewall: not checked (${probe.reason})`;
  return describeHostFirewall(probe.verdict, backend, { ignored: mode === 'ignore' });
}

/** The guard's host facts from a probe: the refusal for `setting` ("auto" follows the default-drop chains found) and the listeners. */
export function guardHostOf(
  probe: HostFirewallProbe,
  setting: RefusalSetting | undefined,
  listening: readonly PortSpec[],
): GuardHost {
  const blocking = probe.checked ? blockingChains(probe.verdict) : undefined;
  return {
    refusal: chooseRefusal(
      setting,
      blocking,
      probe.checked ? undefined : `host firewall not checked (${probe.reason})`,
    ),
    listening,
  };
}

// Every other input chain that drops by default, whether or not this backend's grants get past it.
function blockingChains(verdict: HostFirewallVerdict): readonly BlockingChain[] {
  if (verdict.kind === 'clear') return [];
  return verdict.kind === 'integrated' ? verdict.alongside : [...verdict.alongside, ...verdict.blockers];
}

export interface HostFirewallCheckOptions {
  readonly backend: BackendName;
  readonly mode: HostFirewallMode;
  /** firewall.refusal (absent: "auto"). */
  readonly refusal?: RefusalSetting;
  /** The ports local services listen on (never tripwires); absent: none known. */
  readonly listening?: () => Promise<readonly PortSpec[]>;
  /** Told the facts each setup used (status shows the refusal and why). */
  readonly onHost?: (host: GuardHost) => void;
}

/**
 * `backend` whose setup() first looks at the host's firewall: refuses when it would drop what
 * grants accept (unless mode is "ignore"), and passes the guard the refusal and listeners found.
 */
export function withHostFirewallCheck(
  backend: FirewallBackend,
  runner: CommandRunner,
  options: HostFirewallCheckOptions,
): FirewallBackend {
  if (options.backend === 'dry-run') return backend;
  return delegateBackend(backend, {
    async setup(doors, given, setupOptions) {
      // "ignore" with a fixed refusal needs no look at all.
      const look = options.mode !== 'ignore' || (options.refusal ?? 'auto') === 'auto';
      const probe: HostFirewallProbe = look
        ? await probeHostFirewall(runner, options.backend)
        : { checked: false, reason: 'firewall.hostFirewall is "ignore"' };
      if (options.mode !== 'ignore' && probe.checked && probe.verdict.kind === 'blocked')
        throw hostFirewallError(probe.verdict, options.backend);
      const host = given ?? guardHostOf(probe, options.refusal, (await options.listening?.()) ?? []);
      options.onHost?.(host);
      await backend.setup(doors, host, setupOptions);
    },
    stop: async () => backend.stop?.(),
  });
}
