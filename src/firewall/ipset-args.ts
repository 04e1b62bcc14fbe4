import type { Family } from '../model/address.js';
import { KnocktailError } from '../model/errors.js';
import type { Grant } from '../model/grant.js';
import type { Door } from '../model/door.js';
import { checkGrant } from './grant-check.js';

// Pure argv builders for the ipset backend: one set per door and family, grants as members
// with a kernel timeout, so an expired grant disappears even if knocktail is down.
export const SET_PREFIX = 'knocktail-';
// The kernel's limit on set names (IPSET_MAXNAMELEN - 1).
const MAX_SET_NAME = 31;
// ipset's largest timeout in seconds; longer grants are closed by knocktail's own timer first.
export const MAX_SET_TIMEOUT = 2_147_483;

export function setName(door: string, family: Family): string {
  const name = `${SET_PREFIX}${door}-v${family}`;
  if (name.length > MAX_SET_NAME) {
    throw new KnocktailError(
      'CONFIG_INVALID',
      `Expected door names of at most ${MAX_SET_NAME - 13} characters for the ipset backend (set \`${name}\` is too long), got \`${door}\``,
    );
  }
  return name;
}

/** The door and family encoded in a knocktail set name, or undefined for another set. */
export function parseSetName(name: string): { door: string; family: Family } | undefined {
  const match = /^knocktail-(.+)-v([46])$/.exec(name);
  return match ? { door: match[1]!, family: Number(match[2]) as Family } : undefined;
}

// Creates the door's set if missing (`-exist`); `timeout 0` enables per-member timeouts with no default.
// `maxelem` is limits.maxGrants (no set needs more); absent = ipset's default (65536).
export function buildCreateSetArgs(door: string, family: Family, maxelem?: number): string[] {
  const size = maxelem === undefined ? [] : ['maxelem', String(maxelem)];
  return [
    'ipset',
    '-exist',
    'create',
    setName(door, family),
    'hash:ip',
    'family',
    family === 4 ? 'inet' : 'inet6',
    'timeout',
    '0',
    ...size,
  ];
}

// The KNOCKTAIL rule specs that admit a door's set members to its ports.
export function buildSetMatchSpecs(door: Door, family: Family): string[][] {
  return door.open.map((port) => [
    '-p',
    port.proto,
    '-m',
    'set',
    '--match-set',
    setName(door.name, family),
    'src',
    '--dport',
    String(port.port),
    '-j',
    'ACCEPT',
  ]);
}

/** Seconds left until `until` for a member timeout: 0 (permanent) for until-closed, at least 1 otherwise. */
export function memberTimeout(until: number | null, now: number): number {
  if (until === null) return 0;
  return Math.min(MAX_SET_TIMEOUT, Math.max(1, Math.ceil((until - now) / 1000)));
}

// Adds or refreshes the member: with `-exist` an existing member just gets the new timeout.
export function buildAddMemberArgs(grant: Grant, now: number): string[] {
  checkGrant(grant);
  return [
    'ipset',
    '-exist',
    'add',
    setName(grant.door, grant.family),
    grant.src,
    'timeout',
    String(memberTimeout(grant.until, now)),
  ];
}

// Removes the member; `-exist` makes removing an absent member a success.
export function buildDelMemberArgs(grant: Grant): string[] {
  checkGrant(grant);
  return ['ipset', '-exist', 'del', setName(grant.door, grant.family), grant.src];
}

export function buildDestroySetArgs(name: string): string[] {
  return ['ipset', 'destroy', name];
}

// `ipset restore` reads the same commands without the leading `ipset`; `-exist` makes create and destroy idempotent.
export const IPSET_RESTORE_ARGV: readonly string[] = ['ipset', '-exist', 'restore'];

/** Every door's sets, both families, as one `ipset restore` input (existing sets and members stay). */
export function buildSetsRestore(doors: readonly Door[], maxelem?: number): string {
  const lines = ([4, 6] as const).flatMap((family) =>
    doors.map((door) => buildCreateSetArgs(door.name, family, maxelem).slice(2).join(' ')),
  );
  return lines.map((line) => `${line}\n`).join('');
}

/** Destroys the named sets as one `ipset restore` input. */
export function buildDestroyRestore(names: readonly string[]): string {
  return names.map((name) => `destroy ${name}\n`).join('');
}
