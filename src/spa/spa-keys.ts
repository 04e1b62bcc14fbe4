import { decodeBase64 } from './fko-crypto.js';

// A door's two fwknop keys, decoded: KEY_BASE64 (the Rijndael key, at most 32 bytes) and
// HMAC_KEY_BASE64 (the HMAC-SHA256 key, at most 128 bytes), as `fwknop --key-gen` prints them.
export interface SpaKeys {
  readonly encryption: Buffer;
  readonly hmac: Buffer;
}

export const MAX_ENCRYPTION_KEY_BYTES = 32;
export const MAX_HMAC_KEY_BYTES = 128;
/** Fewest bytes either key may have: 128 bits (`fwknop --key-gen` gives 32 and 64). */
export const MIN_KEY_BYTES = 16;

/** Why a KEY_BASE64 / HMAC_KEY_BASE64 value is unusable, or undefined when it is fine. */
export function spaKeyProblem(text: string, kind: 'encryption' | 'hmac'): string | undefined {
  const bytes = decodeBase64(text.trim());
  const max = kind === 'encryption' ? MAX_ENCRYPTION_KEY_BYTES : MAX_HMAC_KEY_BYTES;
  const name = kind === 'encryption' ? 'KEY_BASE64' : 'HMAC_KEY_BASE64';
  if (!bytes || bytes.length === 0) return `expected a ${name} value (base64, as \`fwknop --key-gen\` prints it)`;
  if (bytes.length > max) return `expected at most ${max} bytes once decoded, got ${bytes.length}`;
  if (bytes.length < MIN_KEY_BYTES)
    return `expected at least ${MIN_KEY_BYTES} bytes once decoded (128 bits; \`fwknop --key-gen\` makes 32 and 64), got ${bytes.length}`;
  return undefined;
}

/** Decodes keys that passed spaKeyProblem. */
export function decodeSpaKeys(encryptionB64: string, hmacB64: string): SpaKeys {
  return {
    encryption: decodeBase64(encryptionB64.trim()) ?? Buffer.alloc(0),
    hmac: decodeBase64(hmacB64.trim()) ?? Buffer.alloc(0),
  };
}
