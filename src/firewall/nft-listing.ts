import { normaliseAddress } from '../model/address.js';
import type { Grant } from '../model/grant.js';
import type { PortSpec } from '../model/door.js';
import { parseNftSetName } from './nft-args.js';

// Reads grants back from nft JSON listings (pure): elements of the door sets with their remaining
// time, and the ports from the `grants` chain rules that reference each set (or, when the listing
// has no rules, from `portsOf`). The backend lists the set names, then each door set: never the
// per-source LOG limiter sets, which hold tens of thousands of elements under a flood.
interface NftMatch {
  readonly left?: { payload?: { protocol?: string; field?: string } };
  readonly right?: unknown;
}

type NftElem = string | { elem?: { val?: unknown; expires?: number; timeout?: number } };

interface NftObject {
  readonly set?: { name?: string; table?: string; elem?: NftElem[] };
  readonly rule?: { chain?: string; table?: string; expr?: { match?: NftMatch }[] };
}

function portsBySet(objects: readonly NftObject[]): Map<string, PortSpec[]> {
  const ports = new Map<string, PortSpec[]>();
  for (const { rule } of objects) {
    if (!rule || rule.table !== 'knocktail' || rule.chain !== 'grants') continue;
    const matches = (rule.expr ?? []).map((e) => e.match).filter((m): m is NftMatch => m !== undefined);
    const set = matches.map((m) => m.right).find((r): r is string => typeof r === 'string' && r.startsWith('@'));
    const dport = matches.find((m) => m.left?.payload?.field === 'dport' && typeof m.right === 'number');
    const proto = dport?.left?.payload?.protocol;
    if (!set || !dport || (proto !== 'tcp' && proto !== 'udp')) continue;
    const list = ports.get(set.slice(1)) ?? [];
    list.push({ proto, port: dport.right as number });
    ports.set(set.slice(1), list);
  }
  return ports;
}

/** The door sets named in a listing (`nft -j -t list sets inet`). */
export function doorSetNames(json: string): string[] {
  const objects = (JSON.parse(json) as { nftables?: NftObject[] }).nftables ?? [];
  return objects.flatMap(({ set }) =>
    set?.name !== undefined && set.table === 'knocktail' && parseNftSetName(set.name) ? [set.name] : [],
  );
}

/** Grants in nft JSON listings; `until` is now + the element's remaining seconds, null without a timeout. */
export function parseNftListing(
  json: string | readonly string[],
  now: number,
  portsOf?: (door: string) => readonly PortSpec[],
): Grant[] {
  const objects = (typeof json === 'string' ? [json] : json).flatMap(
    (text) => (JSON.parse(text) as { nftables?: NftObject[] }).nftables ?? [],
  );
  const ports = portsBySet(objects);
  const grants: Grant[] = [];
  for (const { set } of objects) {
    const door = set?.name === undefined ? undefined : parseNftSetName(set.name);
    if (!set || !door || set.table !== 'knocktail') continue;
    for (const item of set.elem ?? []) {
      const value = typeof item === 'string' ? item : item.elem?.val;
      const src = typeof value === 'string' ? normaliseAddress(value) : undefined;
      if (!src || src.family !== door.family) continue;
      const expires = typeof item === 'string' ? undefined : item.elem?.expires;
      grants.push({
        door: door.door,
        src: src.text,
        family: src.family,
        ports: [...(ports.get(set.name!) ?? portsOf?.(door.door) ?? [])],
        openedAt: now,
        until: expires === undefined ? null : now + expires * 1000,
      });
    }
  }
  return grants;
}
