import { readFileSync } from 'node:fs';
import { decodeSpaKeys, type SpaKeys } from '../../src/spa/spa-keys.js';

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

export const recorded = JSON.parse(readFileSync(new URL('../fixtures/spa/packets.json', import.meta.url), 'utf8')) as Fixtures;

export const recordedKeys: SpaKeys = decodeSpaKeys(recorded.key, recorded.hmacKey);

export function packet(name: string): RecordedPacket {
  const found = recorded.packets.find((p) => p.name === name);
  if (!found) throw new Error(`no recorded packet ${name}`);
  return found;
}

export const bytes = (p: RecordedPacket): Buffer => Buffer.from(p.packet, 'latin1');
