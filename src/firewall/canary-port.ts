import type { Door } from '../model/door.js';
import { collectDoorPorts } from './door-ports.js';

// The udp port the log-path canary goes to (docs/containers.md): above Linux's default
// ephemeral range (32768-60999), so no local client's own socket is likely to use it, placed
// by a hash of the log prefix (the same config gives the same port every time: `rules`,
// `setup` and `teardown` agree), and never a port a door uses.
const FIRST = 61000;
const LAST = 65535;

function hash(text: string): number {
  // FNV-1a, 32 bits: stable across versions and machines.
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The canary's udp port for these doors and this log prefix. */
export function canaryPort(doors: readonly Door[], logPrefix: string): number {
  const { protectedPorts, knockPorts } = collectDoorPorts(doors);
  const used = (port: number): boolean =>
    protectedPorts.some((p) => p.proto === 'udp' && p.port === port) ||
    knockPorts.some((p) => p.proto === 'udp' && p.from <= port && port <= p.to);
  const span = LAST - FIRST + 1;
  const start = hash(logPrefix) % span;
  for (let i = 0; i < span; i++) {
    const port = FIRST + ((start + i) % span);
    if (!used(port)) return port;
  }
  // Only when the doors' udp ports cover all 4536 ports above the ephemeral range.
  return LAST;
}
