import { KnocktailError } from '../model/errors.js';
import type { HostPorts } from '../host/host-ports.js';
import { LINUX_DEFAULT_EPHEMERAL } from '../host/host-ports.js';

// Random knock ports for the config skeleton, so that no two installs share a knock (the
// well-known 7000/8000/9000 of knockd's example are the first thing a scanner tries).
// Drawn from the unprivileged ports outside the ephemeral range, never a port a local
// service listens on (tcp or udp) nor a protected port. The random source is a parameter:
// crypto.randomInt in the CLI, a scripted one in tests.

/** A uniform integer in [0, bound). */
export type RandomInt = (bound: number) => number;

export interface KnockPortChoice {
  /** The open sequence, distinct ports, in knock order. */
  readonly sequence: readonly number[];
  /** The close sequence's single port, distinct from the open sequence. */
  readonly close: number;
}

const FIRST_UNPRIVILEGED = 1024;

/** The ports a skeleton may knock on for this host, ascending. */
export function knockPortPool(host: HostPorts, avoid: readonly number[] = []): number[] {
  const [low, high] = host.ephemeral ?? LINUX_DEFAULT_EPHEMERAL;
  const taken = new Set([...avoid, ...host.listening.map((socket) => socket.port)]);
  const pool: number[] = [];
  for (let port = FIRST_UNPRIVILEGED; port <= 65535; port++) {
    if ((port < low || port > high) && !taken.has(port)) pool.push(port);
  }
  return pool;
}

/** `length` open ports and one close port, all distinct (a partial Fisher-Yates shuffle of the pool). */
export function chooseKnockPorts(
  host: HostPorts,
  random: RandomInt,
  options: { length?: number; avoid?: readonly number[] } = {},
): KnockPortChoice {
  const length = options.length ?? 3;
  const pool = knockPortPool(host, options.avoid);
  if (pool.length < length + 1)
    throw new KnocktailError(
      'USAGE',
      `Expected at least ${length + 1} free ports outside the ephemeral range for the knock, found ${pool.length}`,
    );
  for (let i = 0; i <= length; i++) {
    const j = i + random(pool.length - i);
    if (!Number.isInteger(j) || j < i || j >= pool.length)
      throw new Error(`random source returned ${j - i} for a bound of ${pool.length - i}`);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return { sequence: pool.slice(0, length), close: pool[length]! };
}
