import type { BackendName } from '../config/types.js';
import { KnocktailError } from '../model/errors.js';
import { formatBlockingChain } from './host-firewall.js';
import type { BlockingChain } from './host-firewall.js';

// Whether a backend's grants can open a port next to the host's own firewall (pure).
// The iptables and ipset backends jump to their chains from iptables' own `filter INPUT`,
// ahead of ufw's chains, so next to ufw or a plain `iptables -P INPUT DROP` a grant's ACCEPT
// is the verdict of that chain: it works. Any other table's default deny (firewalld, a
// hand-written nftables ruleset), and for the nftables backend iptables' INPUT as well, drops
// what knocktail's chain accepted: a grant would be a silent no-op, so setup refuses.
export type HostFirewallVerdict =
  | { readonly kind: 'clear' }
  | { readonly kind: 'integrated'; readonly alongside: readonly BlockingChain[] }
  | {
      readonly kind: 'blocked';
      readonly alongside: readonly BlockingChain[];
      readonly blockers: readonly BlockingChain[];
    };

function sharesIptablesInput(chain: BlockingChain): boolean {
  return chain.kind === 'ufw' || chain.kind === 'iptables';
}

export function judgeHostFirewall(blocking: readonly BlockingChain[], backend: BackendName): HostFirewallVerdict {
  if (blocking.length === 0 || backend === 'dry-run') return { kind: 'clear' };
  const integrates = backend === 'iptables' || backend === 'ipset';
  const alongside = integrates ? blocking.filter(sharesIptablesInput) : [];
  const blockers = blocking.filter((chain) => !alongside.includes(chain));
  return blockers.length === 0 ? { kind: 'integrated', alongside } : { kind: 'blocked', alongside, blockers };
}

// What the admin can do instead, for a refusal.
function advice(verdict: Extract<HostFirewallVerdict, { kind: 'blocked' }>, backend: BackendName): string {
  const onlyIptables = verdict.blockers.every(sharesIptablesInput);
  const allow =
    'or make that firewall accept the protected ports and the knock ports (knocktail\'s guard still hides them from everyone without a grant) and set "firewall": { "hostFirewall": "ignore" }';
  if (backend === 'nftables' && onlyIptables) {
    const name = verdict.blockers.some((chain) => chain.kind === 'ufw') ? 'ufw' : 'iptables';
    return `use "firewall": { "backend": "iptables" } or "ipset", whose jump goes into that INPUT chain ahead of ${name}'s rules, ${allow}`;
  }
  return `knocktail cannot override another table's drop with any backend; ${allow.replace(/^or /, '')}`;
}

/** The refusal setup throws for a blocked verdict. */
export function hostFirewallError(
  verdict: Extract<HostFirewallVerdict, { kind: 'blocked' }>,
  backend: BackendName,
): KnocktailError {
  const names = verdict.blockers.map(formatBlockingChain).join('; ');
  return new KnocktailError(
    'HOST_FIREWALL',
    `Refusing to set up the ${backend} backend: the host's firewall drops what knocktail's grants accept, so no knock would ever open a port: ${names}. A packet must pass every input base chain; ${advice(verdict, backend)}`,
  );
}

/** One line for `check-config` and `rules`: what was found and what it means for this backend. */
export function describeHostFirewall(
  verdict: HostFirewallVerdict,
  backend: BackendName,
  options: { ignored?: boolean } = {},
): string {
  switch (verdict.kind) {
    case 'clear':
      return 'host firewall: no other input chain drops by default; grants open as they are';
    case 'integrated':
      return `host firewall: ${verdict.alongside.map(formatBlockingChain).join('; ')}; the ${backend} backend's jump goes into that INPUT chain ahead of it, so grants open`;
    case 'blocked':
      if (options.ignored)
        return `host firewall: ${verdict.blockers.map(formatBlockingChain).join('; ')} drops what the ${backend} backend accepts; firewall.hostFirewall is "ignore", so setup goes ahead (that firewall must accept the protected and knock ports)`;
      return `host firewall: ${verdict.blockers.map(formatBlockingChain).join('; ')} drops what the ${backend} backend accepts; \`knocktail setup\` refuses: ${advice(verdict, backend)}`;
  }
}
