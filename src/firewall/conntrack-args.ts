import type { Family } from '../model/address.js';
import type { PortSpec } from '../model/door.js';

// conntrack(8) as argv: the connections a source holds to an opened port. Deleting an entry
// makes the connection's next packet a NEW one, which the guard refuses once the grant is
// gone; with DNAT the original destination port is the published one, so one match serves
// INPUT and the forward path.
export function buildConntrackDeleteArgs(src: string, family: Family, port: PortSpec): string[] {
  return [
    'conntrack',
    '-D',
    '-f',
    family === 6 ? 'ipv6' : 'ipv4',
    '-s',
    src,
    '-p',
    port.proto,
    '--dport',
    String(port.port),
  ];
}

/** How many entries `conntrack -D` deleted, from its summary line on stderr ("2 flow entries have been deleted."). */
export function parseDeletedCount(stderr: string): number | undefined {
  const match = /(\d+) flow entr(?:y|ies) (?:has|have) been deleted/.exec(stderr);
  return match ? Number(match[1]) : undefined;
}

/** The tracked connections to one opened port (both families), for `status`. */
export function buildConntrackListArgs(family: Family, port: PortSpec): string[] {
  return ['conntrack', '-L', '-f', family === 6 ? 'ipv6' : 'ipv4', '-p', port.proto, '--dport', String(port.port)];
}

/** One tracked connection as `conntrack -L` prints it: the original direction's ends and its TCP state. */
export interface TrackedConnection {
  readonly proto: string;
  readonly state: string;
  readonly src: string;
  readonly sport: number;
  readonly dst: string;
  readonly dport: number;
}

// "tcp      6 431999 ESTABLISHED src=198.51.100.2 dst=198.51.100.1 sport=40000 dport=22 src=… [ASSURED] mark=0 use=1"
// (udp lines have no state word). The first src/dst/sport/dport are the original direction.
export function parseConntrackLine(line: string): TrackedConnection | undefined {
  const words = line.trim().split(/\s+/);
  const proto = words[0];
  if (proto === undefined || words.length < 4) return undefined;
  const field = (key: string): string | undefined =>
    words.find((word) => word.startsWith(`${key}=`))?.slice(key.length + 1);
  const [src, dst, sport, dport] = [field('src'), field('dst'), Number(field('sport')), Number(field('dport'))];
  if (src === undefined || dst === undefined || !Number.isInteger(sport) || !Number.isInteger(dport)) return undefined;
  const state = /^[A-Z_]+$/.test(words[3] ?? '') ? words[3]! : '';
  return { proto, state, src, sport, dst, dport };
}
