import type { Door } from '../model/door.js';
import { tripwirePorts, withoutPorts } from '../model/tripwires.js';
import type { KnockPort } from './door-ports.js';
import { canaryPort } from './canary-port.js';
import { chooseRefusal } from './refusal.js';
import type { GuardHost, Refusal, RefusalSetting } from './refusal.js';

// The guard fields that depend on the doors and the host, filled in at each setup: the
// refusal (the host's answer for an unused port, or the configured one) and the tripwires
// (model/tripwires.ts, less the ports a local service listens on). Without host facts (replay,
// `rules` offline) "auto" is the kernel's own answer, reject, and no port is known to listen.
export interface GuardFields {
  readonly refusal: Refusal;
  readonly tripwires: readonly KnockPort[];
  /** The log-path canary's udp port (canary-port.ts). */
  readonly canary: { readonly port: number };
}

export function planGuardFields(
  doors: readonly Door[],
  seed: string,
  setting: RefusalSetting | undefined,
  host?: GuardHost,
): GuardFields {
  const refusal = host?.refusal.refusal ?? chooseRefusal(setting, undefined).refusal;
  const tripwires = withoutPorts(tripwirePorts(doors, seed), host?.listening ?? []);
  return {
    refusal,
    tripwires: tripwires.map((port) => ({ proto: port.proto, from: port.port, to: port.port })),
    canary: { port: canaryPort(doors, seed) },
  };
}
