import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { Address } from '../model/address.js';
import { readSecretFile } from '../config/secret-file.js';
import { KnocktailError } from '../model/errors.js';
import { FKO_VERSION, MESSAGE_TYPES, type FkoFields } from '../spa/fko-fields.js';
import { decodeSpaKeys, spaKeyProblem, type SpaKeys } from '../spa/spa-keys.js';
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

/** Reads KEY_BASE64 / HMAC_KEY_BASE64 from two files (whole `fwknop --key-gen` lines accepted). */
export function readSpaKeyFiles(keyFile: string, hmacKeyFile: string): SpaKeys {
  const read = (path: string, kind: 'encryption' | 'hmac'): string => {
    const secret = readSecretFile(path);
    if (!secret.ok)
      throw new KnocktailError(
        'USAGE',
        `Expected a readable ${kind === 'hmac' ? 'HMAC ' : ''}key file at ${path}: ${secret.reason}`,
      );
    const value = secret.secret.replace(/^(HMAC_)?KEY_BASE64[:\s]\s*/, '');
    const problem = spaKeyProblem(value, kind);
    if (problem) throw new KnocktailError('USAGE', `${path}: ${problem}`);
    return value;
  };
  return decodeSpaKeys(read(keyFile, 'encryption'), read(hmacKeyFile, 'hmac'));
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
