import { normaliseAddress } from '../model/address.js';
import type { Grant } from '../model/grant.js';
import type { PortSpec } from '../model/door.js';
import { parseSetName } from './ipset-args.js';
import { splitRuleLine } from './iptables-listing.js';

// Reads grants back from `ipset save` (members and their remaining timeouts) and the ports
// each set admits from `iptables -S KNOCKTAIL` (pure).

/** Set name → ports, from match-set rules in a `-S KNOCKTAIL` listing. */
export function parseSetPorts(text: string): Map<string, PortSpec[]> {
  const ports = new Map<string, PortSpec[]>();
  for (const line of text.split('\n')) {
    const words = splitRuleLine(line);
    const set = words[words.indexOf('--match-set') + 1];
    const proto = words[words.indexOf('-p') + 1];
    const port = Number(words[words.indexOf('--dport') + 1]);
    if (
      !line.startsWith('-A ') ||
      !words.includes('--match-set') ||
      !set ||
      (proto !== 'tcp' && proto !== 'udp') ||
      !Number.isInteger(port)
    )
      continue;
    const list = ports.get(set) ?? [];
    if (!list.some((p) => p.proto === proto && p.port === port)) list.push({ proto, port });
    ports.set(set, list);
  }
  return ports;
}

/** Grants in an `ipset save` listing; `until` is now + the remaining timeout (null for timeout 0). */
export function parseSetListing(text: string, ports: ReadonlyMap<string, readonly PortSpec[]>, now: number): Grant[] {
  const grants: Grant[] = [];
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== 'add' || words.length < 3) continue;
    const set = parseSetName(words[1]!);
    const src = normaliseAddress(words[2]!);
    if (!set || !src || src.family !== set.family) continue;
    const timeoutAt = words.indexOf('timeout');
    const seconds = timeoutAt === -1 ? 0 : Number(words[timeoutAt + 1]);
    grants.push({
      door: set.door,
      src: src.text,
      family: src.family,
      ports: [...(ports.get(words[1]!) ?? [])],
      openedAt: now,
      until: seconds > 0 ? now + seconds * 1000 : null,
    });
  }
  return grants;
}
