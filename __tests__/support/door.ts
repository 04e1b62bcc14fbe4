import type { Limits } from '../../src/config/types.js';
import type { Door } from '../../src/model/door.js';

// Test factories: a complete door (the seed's single-knock door unless overridden) and limits.
export function makeDoor(overrides: Partial<Door> = {}): Door {
  return {
    name: 'classic',
    sequence: [{ proto: 'tcp', port: 31600 }],
    oneTimeSequences: [],
    timeout: 25_000,
    open: [{ proto: 'tcp', port: 22 }],
    openFor: null,
    closeSequence: [{ proto: 'tcp', port: 31601 }],
    allowFrom: [],
    ...overrides,
  };
}

export const testLimits: Limits = {
  maxGrants: 1000,
  maxTrackedSources: 1000,
  maxFailures: 10,
  failWindow: 600_000,
  banFor: 3_600_000,
  maxOpenFor: 86_400_000,
  retransmitWindow: 35_000,
  alwaysAllow: [],
};

// The example doors of the README and DESIGN.md, as written in a config file.
export const RAW_SSH_DOOR = {
  name: 'ssh',
  sequence: ['tcp:7000', 'udp:8000', 'tcp:9000'],
  timeout: '15s',
  open: ['tcp:22'],
  openFor: '1h',
  closeSequence: ['tcp:9001'],
} as const;

export const RAW_CLASSIC_DOOR = {
  name: 'classic',
  sequence: ['tcp:31600'],
  open: ['tcp:22'],
  openFor: 'until-closed',
  closeSequence: ['tcp:31601'],
} as const;
