import type { Family } from '../address.js';
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

export type CloseReason = 'expired' | 'close-sequence' | 'revoked' | 'expired-while-down';

export function grantKey(grant: { src: string; door: string }): string {
  return `${grant.door}\u0000${grant.src}`;
}
