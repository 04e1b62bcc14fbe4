import type { Family } from '../model/address.js';
import type { AuditRecord } from '../audit/record.js';

// What members say to each other. Every message travels in a signed envelope: who sent it
// (host), when (iat) and until when it may be acted on (exp), with an id for deduplication.
export const FLEET_PROTOCOL = 1;

export interface GrantOpenBody {
  readonly action: 'open';
  readonly door: string;
  readonly src: string;
  readonly family: Family;
  /** Absolute end of the grant, epoch ms: every member closes at this instant. */
  readonly until: number;
  readonly by: 'knock' | 'manual' | 'spa';
}

export interface GrantCloseBody {
  readonly action: 'close';
  readonly door: string;
  readonly src: string;
  readonly reason: 'revoked' | 'close-sequence' | 'scanner';
}

export type GrantBody = GrantOpenBody | GrantCloseBody;

export interface HeartbeatBody {
  readonly version: string;
  /** The doors this member takes part in the fleet with. */
  readonly doors: readonly string[];
  /** This member's clock minus the NATS servers', ms, as last measured (null before the first measurement). */
  readonly clockOffset: number | null;
  /** Whether the member currently accepts fleet grants (false when its clock is off by more than maxClockSkew). */
  readonly accepting: boolean;
}

export interface AuditBody {
  readonly record: AuditRecord;
}

/** A single-use sequence (its oneTimeKey or timeBasedKey) or an SPA packet (spaUsedKey) a member used on a fleet door. */
export interface UsedBody {
  readonly key: string;
}

export type FleetBody =
  | { readonly type: 'grant'; readonly body: GrantBody }
  | { readonly type: 'heartbeat'; readonly body: HeartbeatBody }
  | { readonly type: 'audit'; readonly body: AuditBody }
  | { readonly type: 'used'; readonly body: UsedBody };

export type UnsignedEnvelope = FleetBody & {
  readonly v: typeof FLEET_PROTOCOL;
  readonly group: string;
  readonly id: string;
  readonly host: string;
  /** Issued at, epoch ms on the sender's clock. */
  readonly iat: number;
  /** Expires at, epoch ms: after it the message is refused. */
  readonly exp: number;
};

export type FleetEnvelope = UnsignedEnvelope & { readonly sig: string };
