import { createHmac, timingSafeEqual } from 'node:crypto';
import { isRecord } from '../model/is-record.js';
import { canonicalJson } from './canonical-json.js';
import { FLEET_PROTOCOL, type FleetEnvelope, type UnsignedEnvelope } from './fleet-message.js';

// HMAC-SHA256 with the group key over the canonical JSON of the envelope without `sig`,
// behind a domain label, so access to the NATS account alone lets nobody open a door.
// Pure: the caller supplies the time and remembers ids (ReplayGuard).
const DOMAIN = 'knocktail-fleet/1\n';

export type RejectReason =
  'malformed' | 'unsigned' | 'bad-signature' | 'wrong-group' | 'expired' | 'not-yet-valid' | 'replayed';

export const REJECT_REASONS: readonly RejectReason[] = [
  'malformed',
  'unsigned',
  'bad-signature',
  'wrong-group',
  'expired',
  'not-yet-valid',
  'replayed',
];

export type Verified =
  { readonly ok: true; readonly envelope: FleetEnvelope } | { readonly ok: false; readonly reason: RejectReason };

function mac(key: string, unsigned: UnsignedEnvelope): Buffer {
  return createHmac('sha256', key).update(DOMAIN).update(canonicalJson(unsigned)).digest();
}

export function signEnvelope(unsigned: UnsignedEnvelope, key: string): FleetEnvelope {
  return { ...unsigned, sig: mac(key, unsigned).toString('base64url') };
}

/** The same message signed again at `iat` (a retried publish): same id, body and exp. */
export function resignEnvelope(envelope: FleetEnvelope, iat: number, key: string): FleetEnvelope {
  const unsigned: Record<string, unknown> = { ...envelope, iat };
  delete unsigned['sig'];
  return signEnvelope(unsigned as UnsignedEnvelope, key);
}

export function encodeEnvelope(envelope: FleetEnvelope): Uint8Array {
  return Buffer.from(JSON.stringify(envelope), 'utf8');
}

function wellFormed(value: Record<string, unknown>): boolean {
  return (
    value['v'] === FLEET_PROTOCOL &&
    typeof value['group'] === 'string' &&
    typeof value['id'] === 'string' &&
    value['id'] !== '' &&
    typeof value['host'] === 'string' &&
    Number.isFinite(value['iat']) &&
    Number.isFinite(value['exp']) &&
    (value['type'] === 'grant' ||
      value['type'] === 'heartbeat' ||
      value['type'] === 'audit' ||
      value['type'] === 'used') &&
    isRecord(value['body']) &&
    (value['type'] !== 'used' || typeof value['body']['key'] === 'string')
  );
}

export interface VerifyOptions {
  readonly key: string;
  readonly group: string;
  /** The verifier's clock, epoch ms. */
  readonly now: number;
  /** How far in the future `iat` may lie (the senders' clocks are allowed this much drift). */
  readonly maxSkew: number;
  /** For read-only views (status): show an expired heartbeat as what it last said. */
  readonly ignoreExpiry?: boolean;
}

/** Checks shape, group, signature and validity window of one message (not replay: see ReplayGuard). */
export function verifyEnvelope(bytes: Uint8Array, options: VerifyOptions): Verified {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (!isRecord(parsed)) return { ok: false, reason: 'malformed' };
  const { sig, ...unsigned } = parsed;
  if (sig === undefined || sig === null || sig === '') return { ok: false, reason: 'unsigned' };
  if (!wellFormed(unsigned) || typeof sig !== 'string') return { ok: false, reason: 'malformed' };
  let expected: Buffer;
  try {
    expected = mac(options.key, unsigned as unknown as UnsignedEnvelope);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'bad-signature' };
  const envelope = parsed as unknown as FleetEnvelope;
  if (envelope.group !== options.group) return { ok: false, reason: 'wrong-group' };
  if (envelope.exp <= options.now && options.ignoreExpiry !== true) return { ok: false, reason: 'expired' };
  if (envelope.iat > options.now + options.maxSkew) return { ok: false, reason: 'not-yet-valid' };
  return { ok: true, envelope };
}
