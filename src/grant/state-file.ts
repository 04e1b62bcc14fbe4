import { constants } from 'node:fs';
import { readdir, readFile, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { normaliseAddress } from '../model/address.js';
import { describeValue, KnocktailError } from '../model/errors.js';
import type { PortSpec } from '../model/door.js';
import type { Grant } from '../model/grant.js';
import { isRecord } from '../model/is-record.js';

// What survives a restart: open grants (so they are closed even if their time ran out while
// down) and the one-time sequences already used (so a replayed knock cannot reopen).
export interface PersistedState {
  readonly version: 1;
  readonly grants: Grant[];
  readonly usedOneTime: string[];
}

export const EMPTY_STATE: PersistedState = { version: 1, grants: [], usedOneTime: [] };

/** Write `state` atomically and durably (the shared helper: exclusive temp file, fsync, rename, fsync the directory). */
export async function saveState(path: string, state: PersistedState): Promise<void> {
  try {
    // Loaded on the first write: readers (`status` without a daemon) never load it and node:crypto.
    const { writeFileAtomic } = await import('../fs/atomic-write.js');
    await writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`, {
      mode: 0o600,
      durable: true,
      createDirMode: 0o700,
    });
  } catch (error) {
    throw new KnocktailError('STATE_IO', `Cannot write the state file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The saved state; an empty one when the file does not exist yet. */
export async function loadState(path: string): Promise<PersistedState> {
  let text: string;
  try {
    // Never through a symlink: the directory is the service user's, and `status` or an offline `grant` read it as root.
    text = await readFile(path, { encoding: 'utf8', flag: constants.O_RDONLY | constants.O_NOFOLLOW });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, grants: [], usedOneTime: [] };
    throw new KnocktailError('STATE_IO', `Cannot read the state file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw corrupt(path, [`expected JSON, got a parse error: ${(error as Error).message}`], error);
  }
  const problems: string[] = [];
  const state = validateState(data, problems);
  if (!state) throw corrupt(path, problems);
  return state;
}

function corrupt(path: string, problems: readonly string[], cause?: unknown): KnocktailError {
  const first = problems[0] ?? 'unknown problem';
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return new KnocktailError(
    'STATE_CORRUPT',
    `State file ${path} is corrupt: ${first}${more}; move it aside to start without saved grants`,
    {
      cause,
      details: problems,
    },
  );
}

const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0;

function validateState(data: unknown, problems: string[]): PersistedState | undefined {
  if (!isRecord(data)) {
    problems.push(`expected an object, got ${describeValue(data)}`);
    return undefined;
  }
  if (data['version'] !== 1) problems.push(`expected version to be 1, got ${describeValue(data['version'])}`);
  const grants: Grant[] = [];
  if (!Array.isArray(data['grants']))
    problems.push(`expected grants to be an array, got ${describeValue(data['grants'])}`);
  else
    data['grants'].forEach((item, i) => {
      const grant = validateGrant(item, `grants[${i}]`, problems);
      if (grant) grants.push(grant);
    });
  const used = data['usedOneTime'] ?? [];
  if (!Array.isArray(used) || !used.every((key) => typeof key === 'string')) {
    problems.push(`expected usedOneTime to be an array of strings, got ${describeValue(used)}`);
  }
  return problems.length === 0 ? { version: 1, grants, usedOneTime: [...(used as string[])] } : undefined;
}

function validateGrant(item: unknown, at: string, problems: string[]): Grant | undefined {
  if (!isRecord(item)) {
    problems.push(`expected ${at} to be an object, got ${describeValue(item)}`);
    return undefined;
  }
  const before = problems.length;
  const { door, src, ports, openedAt, until } = item;
  if (typeof door !== 'string' || door === '')
    problems.push(`expected ${at}.door to be a door name, got ${describeValue(door)}`);
  const address = typeof src === 'string' ? normaliseAddress(src) : undefined;
  if (!address) problems.push(`expected ${at}.src to be an IP address, got ${describeValue(src)}`);
  const validPorts = Array.isArray(ports) && ports.every(isPortSpec);
  if (!validPorts)
    problems.push(
      `expected ${at}.ports to be a list of {"proto":"tcp"|"udp","port":1-65535}, got ${describeValue(ports)}`,
    );
  if (!isTime(openedAt)) problems.push(`expected ${at}.openedAt to be epoch ms, got ${describeValue(openedAt)}`);
  if (until !== null && !isTime(until))
    problems.push(`expected ${at}.until to be epoch ms or null, got ${describeValue(until)}`);
  if (problems.length > before || !address) return undefined;
  return {
    door: door as string,
    src: address.text,
    family: address.family,
    ports: (ports as PortSpec[]).map(({ proto, port }) => ({ proto, port })),
    openedAt: openedAt as number,
    until: until as number | null,
  };
}

function isPortSpec(value: unknown): value is PortSpec {
  if (!isRecord(value)) return false;
  const { proto, port } = value;
  return (
    (proto === 'tcp' || proto === 'udp') &&
    typeof port === 'number' &&
    Number.isInteger(port) &&
    port >= 1 &&
    port <= 65535
  );
}

/** Moves an unusable state file aside as `<path>.corrupt-<ISO time>`; resolves to the new path, or '' when it could not be moved. */
export async function moveAsideCorrupt(path: string, now: number): Promise<string> {
  const target = `${path}.corrupt-${new Date(now).toISOString()}`;
  try {
    await rename(path, target);
    return target;
  } catch {
    return '';
  }
}

/** The newest moved-aside state file next to `path`, if any (for `status` without a daemon). */
export async function findCorruptCopies(path: string): Promise<string[]> {
  const prefix = `${basename(path)}.corrupt-`;
  try {
    return (await readdir(dirname(path)))
      .filter((name) => name.startsWith(prefix))
      .sort()
      .map((name) => join(dirname(path), name));
  } catch {
    return [];
  }
}
