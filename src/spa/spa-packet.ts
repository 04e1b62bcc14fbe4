import { createHash } from 'node:crypto';
import { decryptSpa, encryptSpa, SALTED_PREFIX_B64, sameText, SHA256_B64_LENGTH, spaHmac } from './fko-crypto.js';
import { formatFkoFields, parseFkoFields, type FkoFields } from './fko-fields.js';
import type { SpaKeys } from './spa-keys.js';

// One SPA datagram in, the sender's request out (or why not), for a list of candidate keys (the
// doors sharing a UDP port, as stanzas share fwknopd's). The HMAC is checked first, in constant
// time, for each candidate; nothing is decrypted before one matches. Pure: no clock, no I/O.
/** fwknopd's bounds on the SPA payload (MIN_SPA_DATA_SIZE, MAX_SPA_PACKET_LEN). */
export const MIN_SPA_BYTES = 140;
export const MAX_SPA_BYTES = 1500;

export type OpenedPacket<T> =
  | {
      readonly kind: 'opened';
      readonly candidate: T;
      readonly fields: FkoFields;
      /** SHA-256 (hex) of the authenticated text: the replay cache's key. */
      readonly digest: string;
    }
  | { readonly kind: 'oversized'; readonly bytes: number }
  | { readonly kind: 'malformed'; readonly problem: string; readonly candidate?: T }
  | { readonly kind: 'bad-hmac' };

const BASE64_BODY = /^[A-Za-z0-9+/]+$/;

export function openSpaPacket<T extends { readonly keys: SpaKeys }>(
  payload: Buffer,
  candidates: readonly T[],
): OpenedPacket<T> {
  if (payload.length > MAX_SPA_BYTES) return { kind: 'oversized', bytes: payload.length };
  if (payload.length < MIN_SPA_BYTES)
    return { kind: 'malformed', problem: `${payload.length} bytes, fewer than ${MIN_SPA_BYTES}` };
  const data = payload.toString('latin1');
  // fwknopd refuses a payload that starts with the prefix: it could be an old packet with a prefix tacked on.
  if (data.startsWith(SALTED_PREFIX_B64)) return { kind: 'malformed', problem: 'starts with the Rijndael prefix' };
  if (!BASE64_BODY.test(data)) return { kind: 'malformed', problem: 'not base64 text' };
  const ciphertext = data.slice(0, -SHA256_B64_LENGTH);
  const hmac = data.slice(-SHA256_B64_LENGTH);
  // Every candidate is tried, so the time taken does not tell which door's key matched.
  let match: T | undefined;
  for (const candidate of candidates)
    if (sameText(spaHmac(candidate.keys.hmac, ciphertext), hmac) && match === undefined) match = candidate;
  if (match === undefined) return { kind: 'bad-hmac' };
  const plaintext = decryptSpa(match.keys.encryption, ciphertext);
  if (!plaintext) return { kind: 'malformed', problem: 'does not decrypt with the door key', candidate: match };
  const parsed = parseFkoFields(plaintext.toString('latin1'));
  if (!parsed.ok) return { kind: 'malformed', problem: parsed.problem, candidate: match };
  return {
    kind: 'opened',
    candidate: match,
    fields: parsed.fields,
    digest: createHash('sha256').update(ciphertext, 'latin1').digest('hex'),
  };
}

/** The datagram fwknop's client would send for these fields and keys. */
export function sealSpaPacket(fields: FkoFields, keys: SpaKeys, salt?: Buffer): Buffer {
  const ciphertext = encryptSpa(keys.encryption, Buffer.from(formatFkoFields(fields), 'latin1'), salt);
  return Buffer.from(ciphertext + spaHmac(keys.hmac, ciphertext), 'latin1');
}
