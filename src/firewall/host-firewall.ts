// Finds the host's own firewall in `nft -j list ruleset` (pure; never throws). A packet
// reaches a local service only if EVERY base chain on the input hook lets it pass: an
// `accept` in one table ends that table's chain only, and a drop anywhere is final. So what
// matters is each other table's input base chain that denies by default: policy drop, or a
// catch-all drop/reject (a rule with no match) in it or in a chain it jumps to. Rules that
// drop only some sources or ports (fail2ban's bans, an admin's `tcp dport 25 drop`) are not
// a default deny and are left out. iptables-nft's tables (ufw's included) appear here too.
import { isRecord } from '../model/is-record.js';

export type HostFirewallKind = 'ufw' | 'iptables' | 'firewalld' | 'nftables';

export interface BlockingChain {
  readonly kind: HostFirewallKind;
  /** nft family and table name, e.g. "ip" "filter", "inet" "firewalld". */
  readonly family: string;
  readonly table: string;
  readonly chain: string;
  readonly priority: number;
  /** "policy drop", or the chain holding the catch-all: "catch-all reject in chain filter_INPUT". */
  readonly reason: string;
}

export type HostFirewallScan =
  { readonly ok: true; readonly blocking: readonly BlockingChain[] } | { readonly ok: false; readonly reason: string };

/** knocktail's own nftables table, never counted as the host's firewall. */
export const OWN_TABLE = { family: 'inet', name: 'knocktail' } as const;

interface ChainObject {
  family: string;
  table: string;
  name: string;
  type?: string;
  hook?: string;
  prio?: number;
  policy?: string;
}

interface RuleObject {
  family: string;
  table: string;
  chain: string;
  expr: Record<string, unknown>[];
}

// Statements that neither match nor decide: a rule made of these and a verdict matches everything.
const NEUTRAL = new Set(['counter', 'log', 'mangle', 'notrack']);
const DENY = ['drop', 'reject'] as const;

function keyOf(family: string, table: string, chain: string): string {
  return `${family} ${table} ${chain}`;
}

function catchAllDeny(rule: RuleObject): string | undefined {
  const [last, ...rest] = [...rule.expr].reverse();
  if (!last) return undefined;
  const verdict = DENY.find((word) => word in last);
  if (!verdict || !rest.every((statement) => Object.keys(statement).every((key) => NEUTRAL.has(key)))) return undefined;
  return verdict;
}

function jumpTargets(rule: RuleObject): string[] {
  const targets: string[] = [];
  for (const statement of rule.expr) {
    for (const word of ['jump', 'goto'] as const) {
      const target = statement[word];
      if (isRecord(target) && typeof target['target'] === 'string') targets.push(target['target']);
    }
  }
  return targets;
}

function classify(chain: ChainObject, tableChains: readonly string[]): HostFirewallKind {
  if ((chain.family === 'ip' || chain.family === 'ip6') && chain.table === 'filter' && chain.name === 'INPUT') {
    return tableChains.some((name) => /^ufw6?-/.test(name)) ? 'ufw' : 'iptables';
  }
  return chain.table === 'firewalld' ? 'firewalld' : 'nftables';
}

/** The other tables' input base chains that deny by default, in hook order (lowest priority first). */
export function detectHostFirewall(json: string): HostFirewallScan {
  let document: unknown;
  try {
    document = JSON.parse(json);
  } catch (error) {
    return { ok: false, reason: `not JSON (${(error as Error).message})` };
  }
  const items = isRecord(document) ? document['nftables'] : undefined;
  if (!Array.isArray(items)) return { ok: false, reason: 'expected an object with an "nftables" array' };
  const chains: ChainObject[] = [];
  const rules = new Map<string, RuleObject[]>();
  for (const item of items) {
    if (!isRecord(item)) continue;
    const chain = item['chain'];
    const rule = item['rule'];
    if (
      isRecord(chain) &&
      typeof chain['family'] === 'string' &&
      typeof chain['table'] === 'string' &&
      typeof chain['name'] === 'string'
    ) {
      chains.push(chain as unknown as ChainObject);
    }
    if (
      isRecord(rule) &&
      typeof rule['family'] === 'string' &&
      typeof rule['table'] === 'string' &&
      typeof rule['chain'] === 'string' &&
      Array.isArray(rule['expr'])
    ) {
      const parsed = { ...(rule as unknown as RuleObject), expr: (rule['expr'] as unknown[]).filter(isRecord) };
      const key = keyOf(parsed.family, parsed.table, parsed.chain);
      rules.set(key, [...(rules.get(key) ?? []), parsed]);
    }
  }
  const blocking: BlockingChain[] = [];
  for (const chain of chains) {
    if (chain.hook !== 'input' || chain.type !== 'filter') continue;
    if (chain.family === OWN_TABLE.family && chain.table === OWN_TABLE.name) continue;
    const reason = chain.policy === 'drop' ? 'policy drop' : findCatchAll(chain, rules);
    if (reason === undefined) continue;
    const tableChains = chains.filter((c) => c.family === chain.family && c.table === chain.table).map((c) => c.name);
    blocking.push({
      kind: classify(chain, tableChains),
      family: chain.family,
      table: chain.table,
      chain: chain.name,
      priority: typeof chain.prio === 'number' ? chain.prio : 0,
      reason,
    });
  }
  blocking.sort((a, b) => a.priority - b.priority);
  return { ok: true, blocking };
}

// Walks the base chain and every chain it jumps or goes to (each once) for a catch-all deny.
function findCatchAll(base: ChainObject, rules: ReadonlyMap<string, readonly RuleObject[]>): string | undefined {
  const seen = new Set<string>();
  const queue = [base.name];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    seen.add(name);
    for (const rule of rules.get(keyOf(base.family, base.table, name)) ?? []) {
      const verdict = catchAllDeny(rule);
      if (verdict) return `catch-all ${verdict} in chain ${name}`;
      queue.push(...jumpTargets(rule));
    }
  }
  return undefined;
}

/** "ufw (table ip filter, chain INPUT: policy drop)". */
export function formatBlockingChain(chain: BlockingChain): string {
  const name = { ufw: 'ufw', iptables: 'iptables', firewalld: 'firewalld', nftables: 'nftables ruleset' }[chain.kind];
  return `${name} (table ${chain.family} ${chain.table}, chain ${chain.chain}, priority ${chain.priority}: ${chain.reason})`;
}
