import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { Address } from '../model/address.js';
import { readSpaKeyFile } from '../config/spa-key-file.js';
import { KnocktailError } from '../model/errors.js';
import { FKO_VERSION, MESSAGE_TYPES, type FkoFields } from '../spa/fko-fields.js';
import { decodeBase64 } from '../spa/fko-crypto.js';
import type { SpaKeys } from '../spa/spa-keys.js';
import { sealSpaPacket } from '../spa/spa-packet.js';

// `knocktail knock HOST --spa`: one SPA packet as fwknop's client builds it (FKO 3.0.0,
// Rijndael + HMAC-SHA256), so fwknopd and knocktail's SPA doors both accept it.
export interface SpaRequest {
  /** What to open, fwknop's -A form: "tcp/22,udp/53". */
  readonly access: string;
  /** The address to open for; 0.0.0.0 = the address the packet comes from (fwknop -s). */
  readonly allow: string;
  readonly user: string;
  /** Seconds (fwknop -f); absent = the server's own timeout. */
  readonly timeout?: number;
  readonly now: number;
}

/** The fields for a request (timestamp in seconds, a fresh 16-digit random value). */
export function spaFields(request: SpaRequest): FkoFields {
  const random = `${randomInt(1, 10)}${String(randomInt(0, 1e9)).padStart(9, '0')}${String(randomInt(0, 1e6)).padStart(6, '0')}`;
  return {
    random,
    user: request.user,
    timestamp: Math.floor(request.now / 1000),
    version: FKO_VERSION,
    type: request.timeout === undefined ? MESSAGE_TYPES.access : MESSAGE_TYPES.clientTimeoutAccess,
    message: `${request.allow},${request.access}`,
    ...(request.timeout === undefined ? {} : { clientTimeout: request.timeout }),
  };
}

/**
 * Reads KEY_BASE64 / HMAC_KEY_BASE64 from two files (whole `fwknop --key-gen` lines accepted);
 * a file not given keeps the fallback's key (a door's or a profile's).
 */
export function readSpaKeyFiles(
  keyFile: string | undefined,
  hmacKeyFile: string | undefined,
  fallback?: SpaKeys,
): SpaKeys {
  const read = (path: string | undefined, kind: 'encryption' | 'hmac', flag: string): Buffer => {
    const kept = kind === 'hmac' ? fallback?.hmac : fallback?.encryption;
    if (path === undefined && kept) return kept;
    if (path === undefined) throw new KnocktailError('USAGE', `Expected ${flag} FILE, got none`);
    const result = readSpaKeyFile(path, kind);
    if (!result.ok) throw new KnocktailError('USAGE', `${flag}: ${result.problem}`);
    return decodeBase64(result.value) ?? Buffer.alloc(0);
  };
  return { encryption: read(keyFile, 'encryption', '--key-file'), hmac: read(hmacKeyFile, 'hmac', '--hmac-key-file') };
}

/** Sends one datagram to target:port. */
export function sendSpaPacket(target: Address, port: number, packet: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(target.family === 6 ? 'udp6' : 'udp4');
    socket.once('error', (error) => {
      socket.close();
      reject(error);
    });
    socket.send(packet, port, target.text, (error) => {
      socket.close();
      if (error) reject(error);
      else resolve();
    });
  });
}

export function buildSpaPacket(request: SpaRequest, keys: SpaKeys): Buffer {
  return sealSpaPacket(spaFields(request), keys);
}
