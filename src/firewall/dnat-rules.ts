import type { Family } from '../model/address.js';
import { normaliseAddress } from '../model/address.js';
import { isRecord } from '../model/is-record.js';
import { splitRuleLine } from './iptables-listing.js';

// Reads the rules that publish ports by destination NAT (pure): Docker's and Podman's
// `-j DNAT` in the iptables nat table (legacy or iptables-nft alike), and `dnat`/`redirect`
// statements in nft nat chains. Only what decides which original ports reach the forward path.

/** One destination-NAT rule: which original destinations it rewrites, and to where. */
export interface DnatRule {
  readonly family: Family;
  /** undefined: every protocol. */
  readonly proto?: 'tcp' | 'udp';
  /** Inclusive original port ranges; undefined: every port. */
  readonly ports?: readonly (readonly [number, number])[];
  /** The port list is negated (`! --dport`): every port but these. */
  readonly negated?: boolean;
  /** Original destination addresses the rule is limited to (`-d`, `ip daddr`); undefined: any. */
  readonly addresses?: readonly string[];
  /** The packet stays on this host (REDIRECT, or DNAT to loopback): it takes INPUT, not the forward path. */
  readonly local: boolean;
  /** Where the rule was read, for messages: `iptables nat DOCKER: -p tcp --dport 8080 …`. */
  readonly origin: string;
}

function valueAfter(words: readonly string[], flag: string): string | undefined {
  const index = words.indexOf(flag);
  return index === -1 ? undefined : words[index + 1];
}

function protoOf(text: string | undefined): 'tcp' | 'udp' | undefined {
  return text === 'tcp' || text === 'udp' ? text : undefined;
}

/** `8080`, `8000:8010` (iptables) or `8000-8010` (nft) as an inclusive range; undefined when not a port. */
function parseRange(text: string): [number, number] | undefined {
  const match = /^(\d{1,5})(?:[:-](\d{1,5}))?$/.exec(text.trim());
  if (!match) return undefined;
  const from = Number(match[1]);
  const to = match[2] === undefined ? from : Number(match[2]);
  return from <= to && to <= 65535 ? [from, to] : undefined;
}

function isLoopback(target: string | undefined): boolean {
  if (target === undefined) return false;
  const host = target.startsWith('[')
    ? target.slice(1, target.indexOf(']'))
    : target.split(':').length > 2
      ? target
      : target.split(':')[0]!;
  const parsed = normaliseAddress(host.split('-')[0]!);
  return parsed !== undefined && (parsed.family === 4 ? parsed.text.startsWith('127.') : parsed.text === '::1');
}

/** The DNAT and REDIRECT rules in `iptables -t nat -S` output (ip6tables alike); OUTPUT/POSTROUTING rules only touch the host's own or leaving traffic. */
export function parseIptablesNat(text: string, family: Family): DnatRule[] {
  const rules: DnatRule[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('-A ')) continue;
    const words = splitRuleLine(line);
    const chain = words[1]!;
    const target = valueAfter(words, '-j');
    if ((target !== 'DNAT' && target !== 'REDIRECT') || chain === 'OUTPUT' || chain === 'POSTROUTING') continue;
    const proto = protoOf(valueAfter(words, '-p'));
    const portText = valueAfter(words, '--dport') ?? valueAfter(words, '--dports');
    const portIndex = words.indexOf('--dport') === -1 ? words.indexOf('--dports') : words.indexOf('--dport');
    const ranges = portText === undefined ? undefined : portText.split(',').map(parseRange);
    const dest = valueAfter(words, '-d');
    const destNegated = dest !== undefined && words[words.indexOf('-d') - 1] === '!';
    const address = dest === undefined || destNegated ? undefined : normaliseAddress(dest.replace(/\/(32|128)$/, ''));
    rules.push({
      family,
      ...(proto ? { proto } : {}),
      ...(ranges && ranges.every((r) => r !== undefined) ? { ports: ranges } : {}),
      ...(portIndex > 0 && words[portIndex - 1] === '!' ? { negated: true } : {}),
      ...(address ? { addresses: [address.text] } : {}),
      local: target === 'REDIRECT' || isLoopback(valueAfter(words, '--to-destination')),
      origin: `${family === 4 ? 'iptables' : 'ip6tables'} nat ${chain}: ${words.slice(2).join(' ')}`,
    });
  }
  return rules;
}

const NFT_FAMILIES: Record<string, readonly Family[]> = { ip: [4], ip6: [6], inet: [4, 6] };

/** The port, set of ports or range on the right of an nft match, as ranges; undefined when it is something else. */
function nftPorts(right: unknown): [number, number][] | undefined {
  if (typeof right === 'number') return [[right, right]];
  if (isRecord(right) && Array.isArray(right['range'])) {
    const [from, to] = right['range'] as unknown[];
    return typeof from === 'number' && typeof to === 'number' ? [[from, to]] : undefined;
  }
  if (isRecord(right) && Array.isArray(right['set'])) {
    const out: [number, number][] = [];
    for (const item of right['set'] as unknown[]) {
      const ranges = nftPorts(item);
      if (!ranges) return undefined;
      out.push(...ranges);
    }
    return out;
  }
  return undefined;
}

interface NftRuleFacts {
  proto?: 'tcp' | 'udp';
  ports?: [number, number][];
  negated?: boolean;
  addresses?: string[];
  family?: Family;
  nat?: { local: boolean };
}

/** What one rule's expressions say; only `==`/`in`/`!=` matches on dport, daddr and l4proto count. */
function readNftRule(exprs: readonly unknown[]): NftRuleFacts {
  const facts: NftRuleFacts = {};
  for (const expr of exprs) {
    if (!isRecord(expr)) continue;
    const match = expr['match'];
    if (isRecord(match) && isRecord(match['left'])) {
      const left = match['left'];
      const op = match['op'];
      const payload = isRecord(left['payload']) ? left['payload'] : undefined;
      if (payload && payload['field'] === 'dport' && (payload['protocol'] === 'tcp' || payload['protocol'] === 'udp')) {
        facts.proto = payload['protocol'];
        const ports = nftPorts(match['right']);
        if (ports) facts.ports = ports;
        if (op === '!=') facts.negated = true;
      } else if (
        payload &&
        payload['field'] === 'daddr' &&
        (payload['protocol'] === 'ip' || payload['protocol'] === 'ip6') &&
        op !== '!='
      ) {
        facts.family = payload['protocol'] === 'ip' ? 4 : 6;
        const address = typeof match['right'] === 'string' ? normaliseAddress(match['right']) : undefined;
        if (address) facts.addresses = [address.text];
      } else if (isRecord(left['meta']) && left['meta']['key'] === 'l4proto') {
        const proto = protoOf(typeof match['right'] === 'string' ? match['right'] : undefined);
        if (proto) facts.proto = proto;
      }
    }
    if ('redirect' in expr) facts.nat = { local: true };
    const dnat = expr['dnat'];
    if (isRecord(dnat)) {
      facts.nat = { local: isLoopback(typeof dnat['addr'] === 'string' ? dnat['addr'] : undefined) };
      if (dnat['family'] === 'ip' || dnat['family'] === 'ip6') facts.family ??= dnat['family'] === 'ip' ? 4 : 6;
    }
  }
  return facts;
}

/** The dnat and redirect rules of `nft -j list ruleset` (a dnat statement can only sit in a nat chain or one jumped to from it); the output hook's are the host's own traffic. Unreadable JSON holds none. */
export function parseNftNat(json: string): DnatRule[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return [];
  }
  const items = isRecord(parsed) && Array.isArray(parsed['nftables']) ? (parsed['nftables'] as unknown[]) : [];
  const outputChains = new Set<string>();
  for (const item of items) {
    const chain = isRecord(item) ? item['chain'] : undefined;
    if (isRecord(chain) && chain['type'] === 'nat' && chain['hook'] === 'output')
      outputChains.add(`${String(chain['family'])} ${String(chain['table'])} ${String(chain['name'])}`);
  }
  const rules: DnatRule[] = [];
  for (const item of items) {
    const rule = isRecord(item) ? item['rule'] : undefined;
    if (!isRecord(rule) || !Array.isArray(rule['expr'])) continue;
    const tableFamily = String(rule['family']);
    const where = `${tableFamily} ${String(rule['table'])} ${String(rule['chain'])}`;
    const facts = readNftRule(rule['expr'] as unknown[]);
    if (!facts.nat || outputChains.has(where)) continue;
    const families = facts.family ? [facts.family] : (NFT_FAMILIES[tableFamily] ?? []);
    for (const family of families) {
      rules.push({
        family,
        ...(facts.proto ? { proto: facts.proto } : {}),
        ...(facts.ports ? { ports: facts.ports } : {}),
        ...(facts.negated ? { negated: true } : {}),
        ...(facts.addresses ? { addresses: facts.addresses } : {}),
        local: facts.nat.local,
        origin: `nft ${where}${facts.proto ? ` ${facts.proto}` : ''}${facts.ports ? ` dport ${facts.ports.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)).join(',')}` : ''}`,
      });
    }
  }
  return rules;
}
