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
