import type { Family } from './address.js';
import type { PortSpec } from './door.js';

// An open door for one source: what the firewall must hold, and until when.
export interface Grant {
  readonly door: string;
  readonly src: string;
  readonly family: Family;
  readonly ports: readonly PortSpec[];
  readonly openedAt: number;
  /** Epoch ms, or null for until-closed. */
  readonly until: number | null;
}

/**
 * Why a grant closed: its time ran out (live or while knocktail was down), the close sequence, `revoke`, a reload that removed its
 * door or excluded its source (allowFrom), or its source hit a tripwire port shortly after it was opened (`scanner`).
 */
export type CloseReason =
  'expired' | 'close-sequence' | 'revoked' | 'expired-while-down' | 'door-removed' | 'not-allowed' | 'scanner';

export function grantKey(grant: { src: string; door: string }): string {
  return `${grant.door}\u0000${grant.src}`;
}
