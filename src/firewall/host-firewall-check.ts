import type { BackendName } from '../config/types.js';
import { KnocktailError } from '../errors.js';
import type { CommandRunner, FirewallBackend } from './backend.js';
import { detectHostFirewall } from './host-firewall.js';
import { describeHostFirewall, hostFirewallError, judgeHostFirewall } from './host-firewall-policy.js';
import type { HostFirewallVerdict } from './host-firewall-policy.js';

// Reads the live ruleset and judges it for the configured backend; wraps a backend so that
// `setup` refuses when the host's firewall would make every grant a silent no-op.
export const NFT_RULESET_ARGV: readonly string[] = ['nft', '-j', 'list', 'ruleset'];

export type HostFirewallMode = 'check' | 'ignore';

export type HostFirewallProbe = { readonly checked: true; readonly verdict: HostFirewallVerdict } | { readonly checked: false; readonly reason: string };

/** Lists the ruleset through `runner`; anything that prevents a look is "not checked", never an error. */
export async function probeHostFirewall(runner: CommandRunner, backend: BackendName): Promise<HostFirewallProbe> {
  if (backend === 'dry-run') return { checked: false, reason: 'the dry-run backend changes no firewall' };
  let result;
  try {
    result = await runner.run(NFT_RULESET_ARGV);
  } catch (error) {
    // No nft binary: a legacy-iptables host, whose rules knocktail's iptables jump shares.
    if (error instanceof KnocktailError && error.code === 'BINARY_MISSING') return { checked: false, reason: '`nft` is not installed, so there is no nftables ruleset to inspect' };
    throw error;
  }
  if (result.exitCode !== 0) return { checked: false, reason: `\`nft -j list ruleset\` failed: ${result.stderr.trim() || `exit ${result.exitCode}`}` };
  const scan = detectHostFirewall(result.stdout);
  if (!scan.ok) return { checked: false, reason: `\`nft -j list ruleset\` printed something unexpected: ${scan.reason}` };
  return { checked: true, verdict: judgeHostFirewall(scan.blocking, backend) };
}

/** The line `check-config` and `rules` print. */
export function describeHostFirewallProbe(probe: HostFirewallProbe, backend: BackendName, mode: HostFirewallMode): string {
  if (!probe.checked) return `host firewall: not checked (${probe.reason})`;
  return describeHostFirewall(probe.verdict, backend, { ignored: mode === 'ignore' });
}

/** `backend` whose setup() first checks the host's firewall (unless mode is "ignore"). */
export function withHostFirewallCheck(backend: FirewallBackend, runner: CommandRunner, options: { backend: BackendName; mode: HostFirewallMode }): FirewallBackend {
  if (options.mode === 'ignore' || options.backend === 'dry-run') return backend;
  return {
    name: backend.name,
    open: (grant) => backend.open(grant),
    close: (grant) => backend.close(grant),
    list: () => backend.list(),
    async setup(doors) {
      const probe = await probeHostFirewall(runner, options.backend);
      if (probe.checked && probe.verdict.kind === 'blocked') throw hostFirewallError(probe.verdict, options.backend);
      await backend.setup(doors);
    },
    teardown: () => backend.teardown(),
    describeSetup: (doors) => backend.describeSetup(doors),
    ...(backend.checkForward ? { checkForward: (doors) => backend.checkForward!(doors) } : {}),
    stop: async () => backend.stop?.(),
  };
}
