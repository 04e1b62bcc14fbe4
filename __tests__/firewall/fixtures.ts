import type { FirewallConfig } from '../../src/config/types.js';
import type { Grant } from '../../src/model/grant.js';
import type { Door } from '../../src/model/door.js';
import { makeDoor } from '../support/door.js';

// Doors and grants shared by the firewall unit and system tests.
export const sshDoor: Door = makeDoor({
  name: 'ssh',
  sequence: [
    { proto: 'tcp', port: 7000 },
    { proto: 'udp', port: 8000 },
  ],
  timeout: 15_000,
  openFor: 3_600_000,
  closeSequence: [{ proto: 'tcp', port: 9001 }],
});

export const pingDoor: Door = makeDoor({
  name: 'web',
  sequence: [{ proto: 'icmp' }, { proto: 'tcp', port: 7100 }],
  oneTimeSequences: [[{ proto: 'udp', port: 7200 }]],
  timeBased: { secret: 's', length: 3, period: 30_000, portRange: [40000, 40100], proto: 'udp' },
  timeout: 15_000,
  open: [
    { proto: 'tcp', port: 80 },
    { proto: 'tcp', port: 443 },
  ],
  closeSequence: [],
});

export function firewallConfig(
  backend: FirewallConfig['backend'],
  overrides: Partial<FirewallConfig> = {},
): FirewallConfig & { logPrefix: string } {
  return {
    backend,
    inputPosition: 1,
    logRateLimit: '20/second',
    checkInterval: 60,
    retries: 2,
    logPrefix: 'knocktail: ',
    ...overrides,
  };
}

export function grantFor(src: string, overrides: Partial<Grant> = {}): Grant {
  return {
    door: 'ssh',
    src,
    family: src.includes(':') ? 6 : 4,
    ports: [{ proto: 'tcp', port: 22 }],
    openedAt: 1_000_000,
    until: 1_000_000 + 3_600_000,
    ...overrides,
  };
}
