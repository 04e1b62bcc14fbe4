import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// The cryptography of fwknop's Rijndael + HMAC mode (FKO protocol 3): AES-256-CBC with
// OpenSSL's salted key derivation (EVP_BytesToKey, MD5, one round), the ciphertext carried as
// unpadded base64 without the constant "U2FsdGVkX1" ("Salted__") prefix, and HMAC-SHA256 over
// the base64 text with that prefix put back.
export const SALTED_PREFIX_B64 = 'U2FsdGVkX1';
const SALTED_MAGIC = Buffer.from('Salted__', 'latin1');
/** Unpadded base64 length of a SHA-256 HMAC or digest. */
export const SHA256_B64_LENGTH = 43;

/** Standard base64 without the trailing `=` (fwknop strips them everywhere). */
export function unpaddedBase64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

/** Decodes unpadded (or padded) standard base64; undefined for anything else. */
export function decodeBase64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.replace(/=+$/, '').length % 4 === 1) return undefined;
  return Buffer.from(text, 'base64');
}

// OpenSSL's EVP_BytesToKey with MD5 and one iteration: 32 key bytes then 16 IV bytes.
function deriveKeyIv(key: Buffer, salt: Buffer): { key: Buffer; iv: Buffer } {
  const blocks: Buffer[] = [];
  let previous = Buffer.alloc(0);
  while (blocks.length * 16 < 48) {
    previous = createHash('md5').update(previous).update(key).update(salt).digest();
    blocks.push(previous);
  }
  const all = Buffer.concat(blocks);
  return { key: all.subarray(0, 32), iv: all.subarray(32, 48) };
}

/** The HMAC-SHA256 fwknop appends: over the prefixed base64 ciphertext, as unpadded base64. */
export function spaHmac(hmacKey: Buffer, ciphertextB64: string): string {
  return unpaddedBase64(createHmac('sha256', hmacKey).update(SALTED_PREFIX_B64).update(ciphertextB64).digest());
}

/** Compares two base64 texts in time independent of where they differ (the lengths are public). */
export function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a, 'latin1');
  const right = Buffer.from(b, 'latin1');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Decrypts the base64 ciphertext (prefix stripped); undefined when it is not a salted AES-256-CBC message for this key. */
export function decryptSpa(key: Buffer, ciphertextB64: string): Buffer | undefined {
  const raw = decodeBase64(SALTED_PREFIX_B64 + ciphertextB64);
  if (!raw || raw.length < 32 || (raw.length - 16) % 16 !== 0 || !raw.subarray(0, 8).equals(SALTED_MAGIC))
    return undefined;
  const derived = deriveKeyIv(key, raw.subarray(8, 16));
  try {
    const decipher = createDecipheriv('aes-256-cbc', derived.key, derived.iv);
    return Buffer.concat([decipher.update(raw.subarray(16)), decipher.final()]);
  } catch {
    return undefined;
  }
}

/** Encrypts like fwknop's client: random salt, "Salted__" header, base64 without padding and without the prefix. */
export function encryptSpa(key: Buffer, plaintext: Buffer, salt: Buffer = randomBytes(8)): string {
  const derived = deriveKeyIv(key, salt);
  const cipher = createCipheriv('aes-256-cbc', derived.key, derived.iv);
  const raw = Buffer.concat([SALTED_MAGIC, salt, cipher.update(plaintext), cipher.final()]);
  return unpaddedBase64(raw).slice(SALTED_PREFIX_B64.length);
}

/** SHA-256 of `text` as unpadded base64 (the inner digest field). */
export function sha256Base64(text: string): string {
  return unpaddedBase64(createHash('sha256').update(text, 'latin1').digest());
}
