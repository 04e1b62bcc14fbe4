import type { Cidr, Family } from '../model/address.js';
import type { Grant } from '../model/grant.js';
import type { Door } from '../model/door.js';
import { collectDoorPorts } from './door-ports.js';
import { checkGrant } from './grant-check.js';
import type { KnockPort } from './door-ports.js';
import type { ForwardPort } from './forward-plan.js';
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
  return (['tcp', 'udp'] as const)
    .map((proto) => [proto, items.filter((i) => i.proto === proto)] as [typeof proto, T[]])
    .filter(([, list]) => list.length > 0);
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
  const { protectedPorts, knockPorts, icmp, spaPorts } = collectDoorPorts(doors);
  const refusal = options.refusal ?? 'drop';
  const tripwires = options.tripwires ?? [];
  const out = [`add table ${NFT_TABLE}`];
  const size = setSize === undefined ? '' : ` size ${setSize};`;
  for (const door of doors) {
    for (const family of [4, 6] as const)
      out.push(
        `add set ${NFT_TABLE} ${nftSetName(door.name, family)} { type ${ADDR_TYPE[family]}; flags timeout;${size} }`,
      );
  }
  // Bounded like the tripwire sets: a flood from more sources than this goes unlogged (and refused), never grows memory.
  for (const family of [4, 6] as const)
    out.push(
      `add set ${NFT_TABLE} knocklog-v${family} { type ${ADDR_TYPE[family]}; flags dynamic,timeout; timeout 1m; size ${TRIPWIRE_SET_SIZE}; }`,
    );
  if (tripwires.length > 0) {
    for (const family of [4, 6] as const)
      out.push(
        `add set ${NFT_TABLE} tripwire-v${family} { type ${ADDR_TYPE[family]}; flags dynamic,timeout; timeout 1m; size ${TRIPWIRE_SET_SIZE}; }`,
      );
  }
  out.push(`add chain ${NFT_TABLE} grants`, `flush chain ${NFT_TABLE} grants`);
  for (const door of doors) {
    for (const family of [4, 6] as const) {
      for (const port of door.open) {
        out.push(
          `add rule ${NFT_TABLE} grants ${SADDR[family]} @${nftSetName(door.name, family)} ${port.proto} dport ${port.port} accept comment ${quote(`knocktail door=${door.name}`)}`,
        );
      }
    }
  }
  out.push(
    `add chain ${NFT_TABLE} guard { type filter hook input priority filter; policy accept; }`,
    `flush chain ${NFT_TABLE} guard`,
  );
  const rule = (text: string): string => `add rule ${NFT_TABLE} guard ${text}`;
  const action = options.logAction ?? { kind: 'log', prefix: options.logPrefix };
  const log = buildNftLogStatement(action, quote(action.prefix));
  if (options.canary)
    out.push(
      rule(
        `iifname "lo" meta nfproto ipv4 udp dport ${options.canary.port} ct state new ${log} ${nftRefusal('udp', refusal)}`,
      ),
    );
  const protectedAsKnock = protectedPorts.map((p) => ({ proto: p.proto, from: p.port, to: p.port }));
  for (const [proto, ports] of byProto(protectedAsKnock))
    out.push(rule(`${proto} dport ${portList(ports)} ct state established,related accept`));
  for (const family of [4, 6] as const) {
    const allowed = (options.alwaysAllow ?? []).filter((cidr) => cidr.family === family);
    if (allowed.length === 0) continue;
    for (const [proto, ports] of byProto(protectedAsKnock)) {
      out.push(
        rule(
          `${SADDR[family]} { ${allowed.map((cidr) => cidr.text).join(', ')} } ${proto} dport ${portList(ports)} accept comment ${quote('knocktail alwaysAllow')}`,
        ),
      );
    }
  }
  out.push(rule('jump grants'));
  for (const family of [4, 6] as const) {
    const limit = `update @knocklog-v${family} { ${SADDR[family]} limit rate ${options.logRateLimit} }`;
    for (const [proto, ports] of byProto(knockPorts)) {
      out.push(rule(`meta nfproto ${NFPROTO[family]} ${proto} dport ${portList(ports)} ct state new ${limit} ${log}`));
    }
    // SPA packets whole to NFLOG group = port, read by the daemon's capture (docs/spa.md), each sent at once.
    for (const port of spaPorts)
      out.push(
        rule(
          `meta nfproto ${NFPROTO[family]} udp dport ${port} ct state new ${limit} log group ${port} queue-threshold 1`,
        ),
      );
    const once = `update @tripwire-v${family} { ${SADDR[family]} limit rate 1/minute burst 1 packets }`;
    for (const [proto, ports] of byProto(tripwires)) {
      out.push(rule(`meta nfproto ${NFPROTO[family]} ${proto} dport ${portList(ports)} ct state new ${once} ${log}`));
    }
    // Echo requests are logged but not dropped: ping keeps working, and a ping knock still counts.
    if (icmp) out.push(rule(`${family === 4 ? 'icmp' : 'icmpv6'} type echo-request ${limit} ${log}`));
  }
  if (options.armed === false) return out;
  // Only new flows: a reply to the host's own connection from a local port in a knock range is established.
  const refused = [...knockPorts, ...spaPorts.map((port) => ({ proto: 'udp' as const, from: port, to: port }))];
  for (const [proto, ports] of byProto(refused))
    out.push(rule(`${proto} dport ${portList(ports)} ct state new ${nftRefusal(proto, refusal)}`));
  for (const [proto, ports] of byProto(tripwires))
    out.push(rule(`${proto} dport ${portList(ports)} ct state new ${nftRefusal(proto, refusal)}`));
  for (const [proto, ports] of byProto(protectedAsKnock))
    out.push(rule(`${proto} dport ${portList(ports)} ${nftRefusal(proto, refusal)}`));
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
  return [
    `add element ${set} ${element(grant)}`,
    `delete element ${set} ${element(grant)}`,
    `add element ${set} ${element(grant, timeout)}`,
  ];
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

const ORIGINAL_DADDR = { 4: 'ct original ip daddr', 6: 'ct original ip6 daddr' } as const;

/**
 * The forward twin (docs/guard-rules.md, #19): base chain `forward` on the forward hook at
 * priority filter, beside Docker's and Podman's chains (a drop here is final, an accept leaves
 * theirs to decide). It matches conntrack's original destination, because DNAT has already
 * rewritten the packet's: established flows, alwaysAllow sources and the doors' grant sets
 * pass, then NEW connections DNATed from a published protected port are refused. Containers'
 * own connections are never DNATed (`ct status dnat`), so they and their replies pass. With no
 * guards the chain is removed; the statements are part of setup's one batch.
 */
export function buildNftForwardStatements(
  doors: readonly Door[],
  guards: readonly ForwardPort[],
  options: NftGuardOptions,
): string[] {
  const chain = `${NFT_TABLE} forward`;
  if (guards.length === 0) return [`add chain ${chain}`, `flush chain ${chain}`, `delete chain ${chain}`];
  const out = [
    `add chain ${chain} { type filter hook forward priority filter; policy accept; }`,
    `flush chain ${chain}`,
    `add rule ${chain} ct state established,related accept`,
  ];
  const dnat = (family: Family, proto: string, port: number): string =>
    `meta nfproto ${NFPROTO[family]} ct status dnat meta l4proto ${proto} ct original proto-dst ${port}`;
  for (const family of [4, 6] as const) {
    const mine = guards.filter((guard) => guard.family === family);
    if (mine.length === 0) continue;
    const allowed = (options.alwaysAllow ?? []).filter((cidr) => cidr.family === family);
    if (allowed.length > 0)
      out.push(
        `add rule ${chain} meta nfproto ${NFPROTO[family]} ct status dnat ${SADDR[family]} { ${allowed.map((cidr) => cidr.text).join(', ')} } accept comment ${quote('knocktail alwaysAllow')}`,
      );
    for (const door of doors) {
      for (const port of door.open) {
        out.push(
          `add rule ${chain} ${dnat(family, port.proto, port.port)} ${SADDR[family]} @${nftSetName(door.name, family)} accept comment ${quote(`knocktail door=${door.name}`)}`,
        );
      }
    }
    for (const guard of mine) {
      const where = guard.addresses === undefined ? '' : ` ${ORIGINAL_DADDR[family]} { ${guard.addresses.join(', ')} }`;
      out.push(
        `add rule ${chain} ct state new ${dnat(family, guard.proto, guard.port)}${where} ${nftRefusal(guard.proto, options.refusal ?? 'drop')}`,
      );
    }
  }
  return out;
}

/** Lists the inet chains (no rules, no set elements): the periodic check looks for the forward chain there. */
export const NFT_LIST_CHAINS_ARGV: readonly string[] = ['nft', '-j', 'list', 'chains', 'inet'];
export const NFT_LIST_GUARD_ARGV: readonly string[] = ['nft', 'list', 'chain', 'inet', 'knocktail', 'guard'];
