import type { Family } from '../model/address.js';

// What the knock engine tells the grant stage (and verbose replay) about one packet or timer.
export type ResetReason = 'timeout' | 'out-of-order' | 'other-door' | 'evicted' | 'stale';
/** `scanner`: the source hit a tripwire port within limits.scannerHold; `*-reused`: a single-use sequence knocked again. */
export type RejectReason = 'not-allowed' | 'scanner' | 'one-time-reused' | 'time-based-reused';
/** Refused by the grant engine, not the knock engine: the door's or the global maxGrants is reached. */
export type GrantRejectReason = 'grant-limit';

interface Base {
  readonly door: string;
  readonly src: string;
  readonly family: Family;
  /** Epoch ms (packet time, or the clock's time for timer-driven events). */
  readonly at: number;
}

export type KnockEvent =
  | (Base & {
      readonly kind: 'advanced';
      readonly sequence: 'open' | 'close';
      readonly step: number;
      readonly of: number;
    })
  | (Base & { readonly kind: 'reset'; readonly sequence: 'open' | 'close'; readonly reason: ResetReason })
  | (Base & { readonly kind: 'completed'; readonly sequence: 'open' })
  | (Base & { readonly kind: 'closed'; readonly sequence: 'close' })
  | (Base & { readonly kind: 'rejected'; readonly reason: RejectReason })
  /** A logged packet to a tripwire port (door is ''): the source completes no door until `until`, and grants it got just before are revoked. */
  | (Base & { readonly kind: 'scanner'; readonly port: string; readonly until: number });
