import { parseCidr } from '../model/address.js';
import { doorName } from './door-name.js';
import { readFwknopLines } from './fwknop-lines.js';
import type { ImportNote } from './knockd-import.js';

// fwknopd's access.conf → knocktail SPA doors. Pure: the caller writes the keys to files and
// the config. A stanza starts at each SOURCE line; SOURCE, OPEN_PORTS, KEY_BASE64,
// HMAC_KEY_BASE64, FW_ACCESS_TIMEOUT and REQUIRE_SOURCE_ADDRESS are converted, the rest reported.
export interface ImportedSpaDoor {
  name: string;
  spa: { port: number; keyFile: string; hmacKeyFile: string; requireSourceAddress?: boolean };
  open: string[];
  openFor?: string;
  allowFrom?: string[];
}

export interface FwknopImport {
  readonly doors: ImportedSpaDoor[];
  /** Door name → KEY_BASE64 and HMAC_KEY_BASE64, for the caller to write to the door's key files. */
  readonly keys: ReadonlyMap<string, { readonly key: string; readonly hmacKey: string }>;
  readonly notes: readonly ImportNote[];
}

interface Stanza {
  readonly line: number;
  readonly values: Map<string, { value: string; line: number }>;
}

const CONVERTED = new Set([
  'SOURCE',
  'OPEN_PORTS',
  'KEY_BASE64',
  'HMAC_KEY_BASE64',
  'FW_ACCESS_TIMEOUT',
  'REQUIRE_SOURCE_ADDRESS',
]);
/** fwknopd's default UDP port; access.conf does not say which port the server listens on. */
const FWKNOP_PORT = 62201;

function parseStanzas(text: string): Stanza[] {
  const stanzas: Stanza[] = [];
  for (const entry of readFwknopLines(text)) {
    if (entry.kind !== 'variable') continue;
    if (entry.key === 'SOURCE') stanzas.push({ line: entry.line, values: new Map() });
    stanzas.at(-1)?.values.set(entry.key, { value: entry.value, line: entry.line });
  }
  return stanzas;
}

/** Key files are named relative to the config (`spa.key`, `spa-hmac.key`), written beside it by the caller. */
export function importFwknopAccess(text: string): FwknopImport {
  const doors: ImportedSpaDoor[] = [];
  const keys = new Map<string, { key: string; hmacKey: string }>();
  const notes: ImportNote[] = [];
  const taken = new Set<string>();
  for (const stanza of parseStanzas(text)) {
    const get = (key: string): string | undefined => stanza.values.get(key)?.value;
    const where = `[stanza at line ${stanza.line}]`;
    const skip = (message: string): void => void notes.push({ where, kind: 'skipped', message });
    const key = get('KEY_BASE64');
    const hmacKey = get('HMAC_KEY_BASE64');
    const ports = get('OPEN_PORTS');
    if (key === undefined) {
      skip(
        `no KEY_BASE64 (${get('GPG_REMOTE_ID') ? 'GPG' : get('KEY') ? 'a KEY passphrase' : 'no key'}): knocktail reads base64 Rijndael keys only`,
      );
      continue;
    }
    if (hmacKey === undefined) {
      skip('no HMAC_KEY_BASE64: knocktail accepts HMAC-authenticated packets only');
      continue;
    }
    if (ports === undefined) {
      skip('no OPEN_PORTS: fwknopd opens whatever port a packet asks for; a knocktail door needs the list');
      continue;
    }
    const open = ports.split(',').map((item) => item.trim().replace('/', ':'));
    const name = doorName(taken.size === 0 ? 'spa' : `spa-${taken.size + 1}`, taken);
    const door: ImportedSpaDoor = {
      name,
      spa: { port: FWKNOP_PORT, keyFile: `${name}.key`, hmacKeyFile: `${name}-hmac.key` },
      open,
    };
    const source = get('SOURCE') ?? 'ANY';
    if (source.toUpperCase() !== 'ANY') {
      const cidrs = source.split(',').map((item) => item.trim());
      const bad = cidrs.find((item) => !parseCidr(item));
      if (bad) {
        skip(`SOURCE ${JSON.stringify(bad)} is not an address or CIDR`);
        continue;
      }
      door.allowFrom = cidrs;
    }
    const timeout = get('FW_ACCESS_TIMEOUT');
    if (timeout !== undefined && /^\d+$/.test(timeout) && Number(timeout) > 0) door.openFor = `${timeout}s`;
    else
      notes.push({
        where,
        kind: 'changed',
        message: `FW_ACCESS_TIMEOUT ${timeout === undefined ? 'not set' : JSON.stringify(timeout)}: the door opens for 30s (fwknopd's default)`,
      });
    door.openFor ??= '30s';
    if (/^y/i.test(get('REQUIRE_SOURCE_ADDRESS') ?? '')) door.spa.requireSourceAddress = true;
    notes.push({
      where,
      kind: 'changed',
      message: `door "${name}" on udp/${FWKNOP_PORT} (fwknopd's default port; set spa.port if yours differs); it opens only the address a packet comes from (fwknopd opens the address the packet names: set spa.allowNat for that)`,
    });
    for (const [other, { line }] of stanza.values) {
      if (!CONVERTED.has(other))
        notes.push({ where: `${where} line ${line}`, kind: 'ignored', message: `${other} is not converted` });
    }
    doors.push(door);
    keys.set(name, { key, hmacKey });
  }
  return { doors, keys, notes };
}
