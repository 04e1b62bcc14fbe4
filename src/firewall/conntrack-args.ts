import type { Family } from '../address.js';
import type { PortSpec } from '../model/door.js';

// conntrack(8) as argv: the connections a source holds to an opened port. Deleting an entry
// makes the connection's next packet a NEW one, which the guard refuses once the grant is
// gone; with DNAT the original destination port is the published one, so one match serves
// INPUT and the forward path.
export function buildConntrackDeleteArgs(src: string, family: Family, port: PortSpec): string[] {
  return ['conntrack', '-D', '-f', family === 6 ? 'ipv6' : 'ipv4', '-s', src, '-p', port.proto, '--dport', String(port.port)];
}

/** How many entries `conntrack -D` deleted, from its summary line on stderr ("2 flow entries have been deleted."). */
export function parseDeletedCount(stderr: string): number | undefined {
  const match = /(\d+) flow entr(?:y|ies) (?:has|have) been deleted/.exec(stderr);
  return match ? Number(match[1]) : undefined;
}
