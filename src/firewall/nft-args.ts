import type { Cidr, Family } from '../address.js';
import type { Grant } from '../model/grant.js';
import type { Door } from '../model/door.js';
import { collectDoorPorts } from './door-ports.js';
import { checkGrant } from './grant-check.js';
import type { KnockPort } from './door-ports.js';
import { buildNftLogStatement, type LogAction } from './log-action.js';
import type { Refusal } from './refusal.js';

// Pure builders for the nftables backend: everything lives in table `inet knocktail`
// (typed sets per door, a `grants` chain, and a `guard` base chain on the input hook), and
// each change is a list of nft statements run as one atomic `nft -f -` batch. The guard's order
// is the iptables guard's (guard-args.ts): established flows of protected ports, alwaysAllow,
// grants, LOG and refusal of NEW packets to knock ports and tripwires, refusal of the protected ports.
export const NFT_TABLE = 'inet knocktail';

export function nftSetName(door: string, family: Family): string {
  return `door-${door}-v${family}`;
}

/** The door and family in a knocktail nft set name, or undefined for another set. */
export function parseNftSetName(name: string): { door: string; family: Family } | undefined {
  const match = /^door-(.+)-v([46])$/.exec(name);
  return match ? { door: match[1]!, family: Number(match[2]) as Family } : undefined;
}

const ADDR_TYPE = { 4: 'ipv4_addr', 6: 'ipv6_addr' } as const;
const SADDR = { 4: 'ip saddr', 6: 'ip6 saddr' } as const;
const NFPROTO = { 4: 'ipv4', 6: 'ipv6' } as const;

function portList(ports: readonly KnockPort[]): string {
  return `{ ${ports.map((p) => (p.from === p.to ? String(p.from) : `${p.from}-${p.to}`)).join(', ')} }`;
}

function byProto<T extends { proto: 'tcp' | 'udp' }>(items: readonly T[]): [proto: 'tcp' | 'udp', items: T[]][] {
  return (['tcp', 'udp'] as const).map((proto) => [proto, items.filter((i) => i.proto === proto)] as [typeof proto, T[]]).filter(([, list]) => list.length > 0);
}

export interface NftGuardOptions {
  readonly logPrefix: string;
  /** How knock packets are tagged (default: log with `logPrefix`). */
  readonly logAction?: LogAction;
  /** Per-source rate, e.g. "20/second". */
  readonly logRateLimit: string;
  /** Sources never blocked on the protected ports (limits.alwaysAllow); default none. */
  readonly alwaysAllow?: readonly Cidr[];
  /** What refused NEW packets get (refusal.ts); default "drop". */
  readonly refusal?: Refusal;
  /** Unused ports logged at most once per source per minute and refused (model/tripwires.ts); default none. */
  readonly tripwires?: readonly KnockPort[];
  /** The udp port of the log-path canary (canary-port.ts): on `lo` only, NEW only, logged, refused; IPv4 only. */
  readonly canary?: { readonly port: number };
  /** false: leave out every refusal but the canary's (the first phase of arming); default true. */
  readonly armed?: boolean;
}

/**
 * The verdict of a refused packet: a TCP reset (tcp) or ICMP/ICMPv6 port unreachable (udp,
 * `icmpx` answers each family in its own ICMP), the kernel's answer for a port nobody listens
 * on, or a silent drop. The one rendering of the refusal for nftables (the forward chain uses it too).
 */
export function nftRefusal(proto: 'tcp' | 'udp', refusal: Refusal): string {
  if (refusal === 'drop') return 'drop';
  return proto === 'tcp' ? 'reject with tcp reset' : 'reject with icmpx type port-unreachable';
}

// The LOG limiters' dynamic sets (knock ports, tripwires) hold at most this many sources each
// (a full scan from 50,000 sources fits); past it a new source is refused but not logged.
export const TRIPWIRE_SET_SIZE = 65536;

// A quoted nft string (prefixes and comments); nft strings cannot hold a double quote.
function quote(text: string): string {
  return `"${text.replace(/"/g, "'")}"`;
}

// The whole rule set as statements; re-running it is idempotent and atomic: `add` keeps existing
// tables and sets (and their elements), `flush chain` + `add rule` replaces the rules in one batch.
// `setSize` (limits.maxGrants) bounds each door's grant set; `add` of an existing set takes the new size.
export function buildNftSetupStatements(doors: readonly Door[], options: NftGuardOptions, setSize?: number): string[] {
  const { protectedPorts, knockPorts, icmp } = collectDoorPorts(doors);
  const refusal = options.refusal ?? 'drop';
  const tripwires = options.tripwires ?? [];
  const out = [`add table ${NFT_TABLE}`];
  const size = setSize === undefined ? '' : ` size ${setSize};`;
  for (const door of doors) {
    for (const family of [4, 6] as const) out.push(`add set ${NFT_TABLE} ${nftSetName(door.name, family)} { type ${ADDR_TYPE[family]}; flags timeout;${size} }`);
  }
  // Bounded like the tripwire sets: a flood from more sources than this goes unlogged (and refused), never grows memory.
  for (const family of [4, 6] as const) out.push(`add set ${NFT_TABLE} knocklog-v${family} { type ${ADDR_TYPE[family]}; flags dynamic,timeout; timeout 1m; size ${TRIPWIRE_SET_SIZE}; }`);
  if (tripwires.length > 0) {
    for (const family of [4, 6] as const) out.push(`add set ${NFT_TABLE} tripwire-v${family} { type ${ADDR_TYPE[family]}; flags dynamic,timeout; timeout 1m; size ${TRIPWIRE_SET_SIZE}; }`);
  }
  out.push(`add chain ${NFT_TABLE} grants`, `flush chain ${NFT_TABLE} grants`);
  for (const door of doors) {
    for (const family of [4, 6] as const) {
      for (const port of door.open) {
        out.push(`add rule ${NFT_TABLE} grants ${SADDR[family]} @${nftSetName(door.name, family)} ${port.proto} dport ${port.port} accept comment ${quote(`knocktail door=${door.name}`)}`);
      }
    }
  }
  out.push(`add chain ${NFT_TABLE} guard { type filter hook input priority filter; policy accept; }`, `flush chain ${NFT_TABLE} guard`);
  const rule = (text: string): string => `add rule ${NFT_TABLE} guard ${text}`;
  const action = options.logAction ?? { kind: 'log', prefix: options.logPrefix };
  const log = buildNftLogStatement(action, quote(action.prefix));
  if (options.canary) out.push(rule(`iifname "lo" meta nfproto ipv4 udp dport ${options.canary.port} ct state new ${log} ${nftRefusal('udp', refusal)}`));
  const protectedAsKnock = protectedPorts.map((p) => ({ proto: p.proto, from: p.port, to: p.port }));
  for (const [proto, ports] of byProto(protectedAsKnock)) out.push(rule(`${proto} dport ${portList(ports)} ct state established,related accept`));
  for (const family of [4, 6] as const) {
    const allowed = (options.alwaysAllow ?? []).filter((cidr) => cidr.family === family);
    if (allowed.length === 0) continue;
    for (const [proto, ports] of byProto(protectedAsKnock)) {
      out.push(rule(`${SADDR[family]} { ${allowed.map((cidr) => cidr.text).join(', ')} } ${proto} dport ${portList(ports)} accept comment ${quote('knocktail alwaysAllow')}`));
    }
  }
  out.push(rule('jump grants'));
  for (const family of [4, 6] as const) {
    const limit = `update @knocklog-v${family} { ${SADDR[family]} limit rate ${options.logRateLimit} }`;
    for (const [proto, ports] of byProto(knockPorts)) {
      out.push(rule(`meta nfproto ${NFPROTO[family]} ${proto} dport ${portList(ports)} ct state new ${limit} ${log}`));
    }
    const once = `update @tripwire-v${family} { ${SADDR[family]} limit rate 1/minute burst 1 packets }`;
    for (const [proto, ports] of byProto(tripwires)) {
      out.push(rule(`meta nfproto ${NFPROTO[family]} ${proto} dport ${portList(ports)} ct state new ${once} ${log}`));
    }
    // Echo requests are logged but not dropped: ping keeps working, and a ping knock still counts.
    if (icmp) out.push(rule(`${family === 4 ? 'icmp' : 'icmpv6'} type echo-request ${limit} ${log}`));
  }
  if (options.armed === false) return out;
  // Only new flows: a reply to the host's own connection from a local port in a knock range is established.
  for (const [proto, ports] of byProto(knockPorts)) out.push(rule(`${proto} dport ${portList(ports)} ct state new ${nftRefusal(proto, refusal)}`));
  for (const [proto, ports] of byProto(tripwires)) out.push(rule(`${proto} dport ${portList(ports)} ct state new ${nftRefusal(proto, refusal)}`));
  for (const [proto, ports] of byProto(protectedAsKnock)) out.push(rule(`${proto} dport ${portList(ports)} ${nftRefusal(proto, refusal)}`));
  return out;
}

// Removes the table and everything in it; the leading `add` makes removing an absent table a success.
export function buildNftTeardownStatements(): string[] {
  return [`add table ${NFT_TABLE}`, `delete table ${NFT_TABLE}`];
}

function element(grant: Grant, timeoutMs?: number): string {
  checkGrant(grant);
  return `{ ${grant.src}${timeoutMs === undefined ? '' : ` timeout ${timeoutMs}ms`} }`;
}

// Adds or refreshes the element: add-delete-add in one batch, because a plain `add` of an
// existing element keeps its old timeout; until-closed elements carry no timeout.
export function buildNftOpenStatements(grant: Grant, now: number): string[] {
  const set = `${NFT_TABLE} ${nftSetName(grant.door, grant.family)}`;
  const timeout = grant.until === null ? undefined : Math.max(1, grant.until - now);
  return [`add element ${set} ${element(grant)}`, `delete element ${set} ${element(grant)}`, `add element ${set} ${element(grant, timeout)}`];
}

// Removes the element; the leading `add` makes removing an absent element a success.
export function buildNftCloseStatements(grant: Grant): string[] {
  const set = `${NFT_TABLE} ${nftSetName(grant.door, grant.family)}`;
  return [`add element ${set} ${element(grant)}`, `delete element ${set} ${element(grant)}`];
}

// Runs a batch atomically from stdin.
export const NFT_BATCH_ARGV: readonly string[] = ['nft', '-f', '-'];
export const NFT_LIST_ARGV: readonly string[] = ['nft', '-j', 'list', 'table', 'inet', 'knocktail'];

/** Statements as printable argv (`nft STATEMENT`), one per line for `knocktail rules`. */
export function statementsAsArgv(statements: readonly string[]): string[][] {
  return statements.map((statement) => ['nft', statement]);
}
