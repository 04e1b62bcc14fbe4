import { readFileSync } from 'node:fs';
import { normaliseAddress, type Address } from '../../src/model/address.js';
import type { Door, SpaSettings } from '../../src/model/door.js';
import { decodeSpaKeys, type SpaKeys } from '../../src/spa/spa-keys.js';
import type { SpaDoor } from '../../src/spa/spa-request.js';
import { makeDoor } from '../support/door.js';

// Packets recorded from Debian's fwknop client by scripts/make-spa-fixtures.sh.
export interface RecordedPacket {
  readonly name: string;
  readonly args: string;
  readonly packet: string;
  readonly timestamp: number;
  readonly messageType: number;
  readonly message: string;
  readonly clientTimeout: number;
  readonly user: string;
}

interface Fixtures {
  readonly client: string;
  readonly key: string;
  readonly hmacKey: string;
  readonly packets: readonly RecordedPacket[];
}

export const recorded = JSON.parse(
  readFileSync(new URL('../fixtures/spa/packets.json', import.meta.url), 'utf8'),
) as Fixtures;

export const recordedKeys: SpaKeys = decodeSpaKeys(recorded.key, recorded.hmacKey);

export function packet(name: string): RecordedPacket {
  const found = recorded.packets.find((p) => p.name === name);
  if (!found) throw new Error(`no recorded packet ${name}`);
  return found;
}

export const bytes = (p: RecordedPacket): Buffer => Buffer.from(p.packet, 'latin1');

export const NOW = 1_800_000_000_000;
export const client = normaliseAddress('203.0.113.9') as Address;

/** An SPA door with the recorded keys on 62201, open 30 s (overrides for the door and its spa settings). */
export function makeSpaDoor(overrides: Partial<Door> = {}, spa: Partial<SpaSettings> = {}): SpaDoor {
  return makeDoor({
    name: 'spa',
    sequence: [],
    closeSequence: [],
    openFor: 30_000,
    spa: {
      port: 62201,
      key: recorded.key,
      hmacKey: recorded.hmacKey,
      keyFile: '/etc/knocktail/spa.key',
      hmacKeyFile: '/etc/knocktail/spa-hmac.key',
      maxAge: 120_000,
      allowNat: false,
      requireSourceAddress: false,
      ...spa,
    },
    ...overrides,
  }) as SpaDoor;
}
