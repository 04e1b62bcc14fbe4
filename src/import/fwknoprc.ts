import { parseFwknopPort } from '../model/door.js';
import { normaliseAddress } from '../model/address.js';
import { readFwknopLines } from './fwknop-lines.js';
import type { ImportNote } from './knockd-import.js';

// fwknop's client file ~/.fwknoprc → knocktail SPA client profiles. Pure: the caller writes
// the keys to files and client.json. Each [name] stanza (with [default]'s values under it) that
// fwknop would send as Rijndael + HMAC-SHA256 over UDP becomes the profile `name`.
export interface ImportedSpaProfile {
  host: string;
  spa: { port?: number; keyFile: string; hmacKeyFile: string };
  access?: string[];
  allow?: string;
  fwTimeout?: number;
}

export interface FwknoprcImport {
  readonly profiles: Record<string, ImportedSpaProfile>;
  /** Key file base name ("office" → office.key, office-hmac.key) → KEY_BASE64 and HMAC_KEY_BASE64. */
  readonly keys: ReadonlyMap<string, { readonly key: string; readonly hmacKey: string }>;
  readonly notes: readonly ImportNote[];
}

type Values = Map<string, { value: string; line: number }>;

const CONVERTED = new Set([
  'SPA_SERVER',
  'SPA_SERVER_PORT',
  'ACCESS',
  'ALLOW_IP',
  'KEY_BASE64',
  'HMAC_KEY_BASE64',
  'USE_HMAC',
  'FW_TIMEOUT',
]);

/** Variables whose value changes the packet into one knocktail's client does not send; their safe values. */
const MUST_BE: Readonly<Record<string, RegExp>> = {
  USE_GPG: /^n/i,
  USE_GPG_AGENT: /^n/i,
  SPA_SERVER_PROTO: /^udp$/i,
  ENCRYPTION_MODE: /^cbc$/i,
  HMAC_DIGEST_TYPE: /^sha256$/i,
  DIGEST_TYPE: /^sha256$/i,
};

/** Variables that would make the packet another kind of request: the stanza is not converted. */
const REQUEST_KINDS = ['NAT_ACCESS', 'NAT_LOCAL', 'SERVER_COMMAND'];

function readStanzas(text: string): { name: string; line: number; values: Values }[] {
  const stanzas: { name: string; line: number; values: Values }[] = [];
  for (const entry of readFwknopLines(text)) {
    if (entry.kind === 'section') stanzas.push({ name: entry.name, line: entry.line, values: new Map() });
    else stanzas.at(-1)?.values.set(entry.key, { value: entry.value, line: entry.line });
  }
  return stanzas;
}

function keyFileBase(name: string, taken: Set<string>): string {
  const base = name.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[._]+/, '') || 'spa';
  let file = base;
  for (let n = 2; taken.has(file); n++) file = `${base}-${n}`;
  taken.add(file);
  return file;
}

// Why fwknop would send this stanza as a packet knocktail's client cannot build, if it would.
function unsupported(get: (key: string) => string | undefined, has: (key: string) => boolean): string | undefined {
  if (get('SPA_SERVER') === undefined) return 'no SPA_SERVER';
  const refused = Object.keys(MUST_BE).find((name) => has(name) && !MUST_BE[name]?.test(get(name) ?? ''));
  if (refused) return `${refused} ${get(refused)}: knocktail sends Rijndael (CBC) + HMAC-SHA256 over UDP only`;
  const kind = REQUEST_KINDS.find((name) => has(name) && !/^n/i.test(get(name) ?? ''));
  if (kind) return `${kind}: knocktail's client sends access requests only`;
  if (get('KEY_BASE64') === undefined)
    return `no KEY_BASE64 (${get('KEY') === undefined ? 'no key' : 'a KEY passphrase'}): knocktail reads base64 Rijndael keys only`;
  if (get('HMAC_KEY_BASE64') === undefined || /^n/i.test(get('USE_HMAC') ?? 'Y'))
    return 'no HMAC (USE_HMAC Y and HMAC_KEY_BASE64): knocktail sends HMAC-authenticated packets only';
  return undefined;
}

export function importFwknoprc(text: string): FwknoprcImport {
  const stanzas = readStanzas(text);
  const defaults: Values =
    stanzas.find((stanza) => stanza.name === 'default')?.values ?? new Map<string, { value: string; line: number }>();
  const profiles: Record<string, ImportedSpaProfile> = {};
  const keys = new Map<string, { key: string; hmacKey: string }>();
  const notes: ImportNote[] = [];
  const taken = new Set<string>();
  for (const stanza of stanzas) {
    if (stanza.name === 'default') continue;
    const values: Values = new Map([...defaults, ...stanza.values]);
    const get = (key: string): string | undefined => values.get(key)?.value;
    const where = `[${stanza.name}]`;
    const converted = Object.hasOwn(profiles, stanza.name)
      ? 'a second stanza of this name (fwknop reads the first)'
      : (unsupported(get, (key) => values.has(key)) ?? convert(stanza.name, get, taken, notes));
    if (typeof converted === 'string') {
      notes.push({ where, kind: 'skipped', message: converted });
      continue;
    }
    profiles[stanza.name] = converted;
    keys.set(converted.spa.keyFile.replace(/\.key$/, ''), {
      key: get('KEY_BASE64') ?? '',
      hmacKey: get('HMAC_KEY_BASE64') ?? '',
    });
    for (const [other, { line }] of values) {
      if (!CONVERTED.has(other) && !MUST_BE[other]?.test(get(other) ?? ''))
        notes.push({ where: `${where} line ${line}`, kind: 'ignored', message: `${other} is not converted` });
    }
  }
  return { profiles, keys, notes };
}

/** The profile for a stanza fwknop would send as knocktail does, or why a value cannot be carried over. */
function convert(
  name: string,
  get: (key: string) => string | undefined,
  taken: Set<string>,
  notes: ImportNote[],
): ImportedSpaProfile | string {
  const profile: ImportedSpaProfile = { host: get('SPA_SERVER') ?? '', spa: { keyFile: '', hmacKeyFile: '' } };
  const port = get('SPA_SERVER_PORT');
  if (port !== undefined) {
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535)
      return `SPA_SERVER_PORT ${JSON.stringify(port)} is not a port 1-65535`;
    profile.spa.port = Number(port);
  }
  const access = get('ACCESS');
  if (access !== undefined) {
    const items = access.split(',').map((item) => item.trim().toLowerCase());
    const bad = items.find((item) => !parseFwknopPort(item));
    if (bad !== undefined) return `ACCESS ${JSON.stringify(bad)} is not tcp/PORT or udp/PORT`;
    profile.access = items;
  }
  const allow = get('ALLOW_IP');
  if (allow !== undefined && !/^source$/i.test(allow)) {
    if (/^resolve$/i.test(allow))
      notes.push({
        where: `[${name}]`,
        kind: 'changed',
        message:
          'ALLOW_IP resolve: the profile asks for the address the packet comes from (0.0.0.0, fwknop -s) instead of asking a web service (RESOLVE_IP_HTTPS); fwknopd refuses that under REQUIRE_SOURCE_ADDRESS',
      });
    else if (normaliseAddress(allow)) profile.allow = allow;
    else return `ALLOW_IP ${JSON.stringify(allow)} is not source, resolve or an address`;
  }
  const timeout = get('FW_TIMEOUT');
  if (timeout !== undefined) {
    if (!/^\d+$/.test(timeout) || Number(timeout) < 1 || Number(timeout) > 86_400)
      return `FW_TIMEOUT ${JSON.stringify(timeout)} is not a number of seconds from 1 to 86400`;
    profile.fwTimeout = Number(timeout);
  }
  const file = keyFileBase(name, taken);
  profile.spa.keyFile = `${file}.key`;
  profile.spa.hmacKeyFile = `${file}-hmac.key`;
  return profile;
}
