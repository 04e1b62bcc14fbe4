import { normaliseAddress } from '../model/address.js';
import type { Family } from '../model/address.js';
import type { Grant } from '../model/grant.js';
import type { PortSpec } from '../model/door.js';
import { grantKey } from '../model/grant.js';
import { parseGrantComment } from './grant-comment.js';

// Reads grants back from `iptables -S KNOCKTAIL` (pure). Rules without a knocktail comment
// are not grants and are skipped; one grant's ports are spread over several rules.

/** Splits one `-S` line into words, honouring the double quotes iptables puts around comments. */
export function splitRuleLine(line: string): string[] {
  const words: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let match = pattern.exec(line); match; match = pattern.exec(line)) {
    words.push(match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2]!);
  }
  return words;
}

function valueAfter(words: readonly string[], flag: string): string | undefined {
  const index = words.indexOf(flag);
  return index === -1 ? undefined : words[index + 1];
}

/** Grants in an iptables/ip6tables `-S KNOCKTAIL` listing; `openedAt` is unknown there and set to `now`. */
export function parseGrantListing(text: string, family: Family, now: number): Grant[] {
  const grants = new Map<string, { door: string; src: string; until: number | null; ports: PortSpec[] }>();
  for (const { key, door, src, until, port } of parseGrantRules(text, family)) {
    const held = grants.get(key);
    // Two expiries for one grant means a refresh was interrupted; the later one is the live one.
    if (held && (held.until === null || (until !== null && until <= held.until))) {
      if (held.until === until && !held.ports.some((p) => p.proto === port.proto && p.port === port.port))
        held.ports.push(port);
      continue;
    }
    grants.set(key, { door, src, until, ports: [port] });
  }
  return [...grants.values()].map((g) => ({
    door: g.door,
    src: g.src,
    family,
    ports: g.ports,
    openedAt: now,
    until: g.until,
  }));
}

/** One knocktail grant rule as the chain holds it, with the words that delete exactly it. */
export interface ListedGrantRule {
  readonly key: string;
  readonly door: string;
  readonly src: string;
  readonly until: number | null;
  readonly port: PortSpec;
  /** Whether the rule carries the kernel-side expiry (`-m time --datestop`); older rules may not. */
  readonly timed: boolean;
  /** The rule spec after the chain name, as listed (for `-D KNOCKTAIL …`). */
  readonly spec: readonly string[];
}

/** Every knocktail grant rule in a `-S KNOCKTAIL` listing, duplicates and stale expiries included. */
export function parseGrantRules(text: string, family: Family): ListedGrantRule[] {
  const rules: ListedGrantRule[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('-A ')) continue;
    const words = splitRuleLine(line);
    const comment = parseGrantComment(valueAfter(words, '--comment') ?? '');
    const src = normaliseAddress((valueAfter(words, '-s') ?? '').replace(/\/(32|128)$/, ''));
    const proto = valueAfter(words, '-p');
    // A forward twin (forward-args.ts) names the published port as conntrack's original destination.
    const port = Number(valueAfter(words, '--dport') ?? valueAfter(words, '--ctorigdstport'));
    if (!comment || !src || src.family !== family || (proto !== 'tcp' && proto !== 'udp') || !Number.isInteger(port))
      continue;
    rules.push({
      key: grantKey({ door: comment.door, src: src.text }),
      door: comment.door,
      src: src.text,
      until: comment.until,
      port: { proto, port },
      timed: words.includes('--datestop'),
      spec: words.slice(2),
    });
  }
  return rules;
}
