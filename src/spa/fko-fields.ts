import { decodeBase64, sha256Base64, unpaddedBase64 } from './fko-crypto.js';

// The plaintext of an FKO 3.0.0 message: colon-separated fields, text ones in unpadded base64,
// and a SHA-256 digest of everything before it:
//   random(16 digits) : user(b64) : timestamp : version : type : message(b64)
//   [: nat access(b64)] [: server auth(b64)] [: client timeout] : digest(b64)
// Pure: parseFkoFields never throws; it says why a plaintext is not a message.
export const FKO_VERSION = '3.0.0';

export const MESSAGE_TYPES = {
  command: 0,
  access: 1,
  natAccess: 2,
  clientTimeoutAccess: 3,
  clientTimeoutNatAccess: 4,
  localNatAccess: 5,
  clientTimeoutLocalNatAccess: 6,
} as const;

export interface FkoFields {
  readonly random: string;
  readonly user: string;
  /** Seconds since the epoch, as the client stamped it. */
  readonly timestamp: number;
  readonly version: string;
  readonly type: number;
  /** The access message, e.g. "203.0.113.9,tcp/22". */
  readonly message: string;
  readonly natAccess?: string;
  /** Seconds the client asks the port to stay open (types 3, 4, 6); absent = the server's choice. */
  readonly clientTimeout?: number;
}

export type FieldsResult =
  { readonly ok: true; readonly fields: FkoFields } | { readonly ok: false; readonly problem: string };

// fwknop's own limits (lib/fko_limits.h), so what it would refuse is refused here too.
const MAX_USER = 64;
const MAX_MESSAGE = 256;
const NAT_TYPES: ReadonlySet<number> = new Set([2, 4, 5, 6]);
const TIMEOUT_TYPES: ReadonlySet<number> = new Set([3, 4, 6]);

function text(b64: string, max: number): string | undefined {
  const bytes = decodeBase64(b64);
  if (!bytes || bytes.length === 0 || bytes.length > max) return undefined;
  const decoded = bytes.toString('latin1');
  // Printable ASCII only: these texts end up in audit records.
  return /^[\x20-\x7e]+$/.test(decoded) ? decoded : undefined;
}

const fail = (problem: string): FieldsResult => ({ ok: false, problem });

export function parseFkoFields(plaintext: string): FieldsResult {
  const cut = plaintext.lastIndexOf(':');
  if (cut < 0) return fail('no digest field');
  const body = plaintext.slice(0, cut);
  // The digest is checked after the HMAC, so it only catches a client bug or a wrong key that still padded right.
  if (sha256Base64(body) !== plaintext.slice(cut + 1)) return fail('inner SHA-256 digest does not match');
  const parts = body.split(':');
  if (parts.length < 6 || parts.length > 8)
    return fail(`expected 6 to 8 fields before the digest, got ${parts.length}`);
  const [random, userB64, stamp, version, typeText, messageB64, ...rest] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
    ...string[],
  ];
  if (!/^[0-9]{16}$/.test(random)) return fail('random value is not 16 digits');
  const user = text(userB64, MAX_USER);
  if (user === undefined) return fail('user is not base64 of printable text');
  if (!/^[0-9]{1,12}$/.test(stamp)) return fail('timestamp is not a number');
  if (version !== FKO_VERSION) return fail(`version ${JSON.stringify(version.slice(0, 12))} is not ${FKO_VERSION}`);
  if (!/^[0-6]$/.test(typeText)) return fail('unknown message type');
  const type = Number(typeText);
  const message = text(messageB64, MAX_MESSAGE);
  if (message === undefined) return fail('message is not base64 of printable text');
  const fields: { -readonly [K in keyof FkoFields]: FkoFields[K] } = {
    random,
    user,
    timestamp: Number(stamp),
    version,
    type,
    message,
  };
  const extra = [...rest];
  if (NAT_TYPES.has(type)) {
    const nat = text(extra.shift() ?? '', MAX_MESSAGE);
    if (nat === undefined) return fail('NAT access field missing or not base64 text');
    fields.natAccess = nat;
  }
  if (TIMEOUT_TYPES.has(type)) {
    const timeout = extra.pop() ?? '';
    if (!/^[0-9]{1,9}$/.test(timeout)) return fail('client timeout is not a number');
    fields.clientTimeout = Number(timeout);
  }
  // What is left is the optional server-auth field, which knocktail does not use.
  if (extra.length > 1) return fail('too many fields');
  return { ok: true, fields };
}

/** The plaintext fwknop's client encrypts for these fields (the digest appended). */
export function formatFkoFields(fields: FkoFields): string {
  const b64 = (value: string): string => unpaddedBase64(Buffer.from(value, 'latin1'));
  const parts = [
    fields.random,
    b64(fields.user),
    String(fields.timestamp),
    fields.version,
    String(fields.type),
    b64(fields.message),
  ];
  if (fields.natAccess !== undefined) parts.push(b64(fields.natAccess));
  if (fields.clientTimeout !== undefined) parts.push(String(fields.clientTimeout));
  const body = parts.join(':');
  return `${body}:${sha256Base64(body)}`;
}
