import type { PortSpec, Step } from '../model/door.js';

// Knock steps and opened ports as written in the config: "tcp:7000", "udp:8000", "icmp".
const STEP = /^(tcp|udp):(\d{1,5})$/;

function validPort(text: string): number | undefined {
  const port = Number(text);
  return port >= 1 && port <= 65535 && String(port) === text ? port : undefined;
}

/** The step for "tcp:PORT", "udp:PORT" or "icmp"; undefined for anything else. */
export function parseStep(text: unknown): Step | undefined {
  if (text === 'icmp') return { proto: 'icmp' };
  return typeof text === 'string' ? parsePortSpec(text) : undefined;
}

/** The port for "tcp:PORT" or "udp:PORT"; undefined for anything else. */
export function parsePortSpec(text: unknown): PortSpec | undefined {
  if (typeof text !== 'string') return undefined;
  const match = STEP.exec(text);
  if (!match) return undefined;
  const port = validPort(match[2]!);
  return port === undefined ? undefined : { proto: match[1] as PortSpec['proto'], port };
}

export function sameStep(a: Step, b: Step): boolean {
  return a.proto === b.proto && a.port === b.port;
}
