import type { Family } from '../model/address.js';
import type { AuditRecord } from '../audit/record.js';

// The grant engine as the fleet link sees it: open with an absolute end, close, look up,
// and a feed of every audit record the engine writes (which is how changes are observed).
export type FleetOpenResult = 'opened' | 'refreshed' | 'unchanged' | 'no-such-door' | 'not-allowed';

export interface FleetGrantPort {
  /** Open `door` for `src` until the absolute time `until` (never later); `origin` is the member that asked. */
  open(door: string, src: string, family: Family, until: number, origin: string): Promise<FleetOpenResult>;
  /** Close now; false when the source held no such grant. */
  close(door: string, src: string, reason: 'revoked' | 'close-sequence' | 'scanner'): Promise<boolean>;
  hasDoor(door: string): boolean;
  onRecord(listener: (record: AuditRecord) => void): void;
}
