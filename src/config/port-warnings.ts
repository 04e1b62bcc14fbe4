import type { HostPorts } from '../host/host-ports.js';
import { formatListeningSocket } from '../host/listening-sockets.js';
import type { ListeningSocket } from '../host/listening-sockets.js';
import type { Door, Step } from '../model/door.js';
import { formatPath, type PathSegment } from './json-path.js';

// Advice for `check-config` about knock ports and this host (pure; the caller reads /proc):
// the guard drops every new inbound connection to a knock port, so a knock port a local
// service listens on cuts that service off; a port in the ephemeral range may be bound at
// random later; a range over a quarter of all ports hides a large part of the host.
// Each warning is "path: message", like a config problem.
export const MAX_RANGE_PORTS = 65536 / 4;
const SHOWN = 4;

export interface KnockSpan {
  readonly path: readonly PathSegment[];
  readonly proto: 'tcp' | 'udp';
  readonly from: number;
  readonly to: number;
}

/** Every knock port of a door (steps of each sequence, a time-based range) with its JSON path. */
export function knockSpansOf(door: Door, index: number): KnockSpan[] {
  const spans: KnockSpan[] = [];
  const add = (steps: readonly Step[], path: readonly PathSegment[]): void =>
    steps.forEach((step, position) => {
      if (step.proto !== 'icmp' && step.port !== undefined)
        spans.push({ path: [...path, position], proto: step.proto, from: step.port, to: step.port });
    });
  add(door.sequence, ['doors', index, 'sequence']);
  door.oneTimeSequences.forEach((steps, k) => add(steps, ['doors', index, 'oneTimeSequences', k]));
  add(door.closeSequence, ['doors', index, 'closeSequence']);
  if (door.timeBased) {
    const [from, to] = door.timeBased.portRange;
    spans.push({ path: ['doors', index, 'timeBased', 'portRange'], proto: door.timeBased.proto, from, to });
  }
  return spans;
}

function spanText(span: KnockSpan): string {
  return span.from === span.to ? `${span.proto}:${span.from}` : `${span.proto}:${span.from}-${span.to}`;
}

function listing(sockets: readonly ListeningSocket[]): string {
  const shown = sockets.slice(0, SHOWN).map(formatListeningSocket).join(', ');
  return sockets.length > SHOWN ? `${shown} and ${sockets.length - SHOWN} more` : shown;
}

/** Every warning for these doors on this host, in door order. */
export function checkKnockPortsAgainstHost(doors: readonly Door[], host: HostPorts): string[] {
  const warnings: string[] = [];
  doors.forEach((door, index) => {
    for (const span of knockSpansOf(door, index)) {
      const where = formatPath(span.path);
      const what = spanText(span);
      const single = span.from === span.to;
      const hits = host.listening.filter((s) => s.proto === span.proto && s.port >= span.from && s.port <= span.to);
      if (hits.length > 0) {
        const subject = single
          ? `${what} is a port a local service listens on (${listing(hits)})`
          : `${what} covers ports local services listen on (${listing(hits)})`;
        warnings.push(
          `${where}: ${subject}; the guard drops new connections to knock ports, so that service would be cut off`,
        );
      }
      const size = span.to - span.from + 1;
      if (size > MAX_RANGE_PORTS) {
        warnings.push(
          `${where}: ${what} covers ${size} ports, more than a quarter of all ports; the guard hides every one of them and random scans land in it often (a range of a few thousand ports is plenty)`,
        );
      }
      const ephemeral = host.ephemeral;
      if (ephemeral && span.from <= ephemeral[1] && span.to >= ephemeral[0]) {
        const range = `${ephemeral[0]}-${ephemeral[1]}`;
        const subject = single ? `${what} lies in` : `${what} overlaps`;
        warnings.push(
          `${where}: ${subject} the ephemeral port range ${range} (net.ipv4.ip_local_port_range); a program that binds a random port may get a knock port, and the guard then drops new connections to it`,
        );
      }
    }
  });
  return warnings;
}
