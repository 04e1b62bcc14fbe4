import { addressInAny, normaliseAddress, type Family } from '../model/address.js';
import type { AuditRecord } from '../audit/record.js';
import type { GrantEngine } from '../grant/grant-engine.js';
import type { Door } from '../model/door.js';
import type { FleetGrantPort, FleetOpenResult } from './grant-port.js';

// The fleet link's view of the grant engine: openUntil with the absolute end, the door's
// allowFrom still applies, and a grant that already lasts as long is left alone (no refresh
// record for a redelivered message).
export interface GrantEnginePort extends FleetGrantPort {
  /** Feed one audit record the engine wrote (the daemon calls this from its record observer). */
  emit(record: AuditRecord): void;
}

export function grantEnginePort(deps: {
  engine: () => GrantEngine | undefined;
  doors: () => readonly Door[];
  now: () => number;
}): GrantEnginePort {
  // One listener: a link that failed to start is replaced by the next attempt's.
  let listener: ((record: AuditRecord) => void) | undefined;
  const door = (name: string): Door | undefined => deps.doors().find((entry) => entry.name === name);
  return {
    hasDoor: (name) => door(name) !== undefined,
    onRecord: (next) => {
      listener = next;
    },
    emit: (record) => listener?.(record),
    async open(name: string, src: string, family: Family, until: number): Promise<FleetOpenResult> {
      const engine = deps.engine();
      const found = door(name);
      if (!engine || !found) return 'no-such-door';
      const address = normaliseAddress(src);
      if (!address) return 'not-allowed';
      if (found.allowFrom.length > 0 && !addressInAny(address, found.allowFrom)) return 'not-allowed';
      const held = engine.get(name, address.text);
      if (held && (held.until === null || held.until >= until)) return 'unchanged';
      if (until <= deps.now()) return 'unchanged';
      await engine.openUntil(found, address.text, family, 'fleet', until);
      return held ? 'refreshed' : 'opened';
    },
    close: (name, src, reason) => deps.engine()?.close(name, src, reason) ?? Promise.resolve(false),
  };
}
