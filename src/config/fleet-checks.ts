import { parseDuration } from '../model/duration.js';
import type { Problems } from './problems.js';
import { isRecord } from '../model/is-record.js';
import { arrayOf } from './raw-config.js';
import { readSecretFile } from './secret-file.js';
import { resolvePath } from './resolve-path.js';

// Checks of the `fleet` block the schema cannot express: one way to authenticate, whole
// pairs (user+password, cert+key), sane timings, a strong enough group key, and doors
// that ask for the fleet only when there is one.
const MIN_KEY_CHARS = 32;

const present = (value: unknown): boolean => value !== null && value !== undefined;

function checkTiming(
  problems: Problems,
  fleet: Record<string, unknown>,
  key: string,
  minimumMs: number,
  minimumText: string,
): void {
  const value = fleet[key];
  const path = ['fleet', key];
  if (typeof value !== 'string' || problems.has(path)) return;
  const ms = parseDuration(value);
  if (ms === undefined || ms < minimumMs)
    problems.add(path, `expected a duration of at least ${minimumText}, got ${JSON.stringify(value)}`);
}

export function checkFleet(problems: Problems, data: unknown): void {
  if (!isRecord(data)) return;
  const fleet = data['fleet'];
  arrayOf(data['doors']).forEach((door, index) => {
    if (isRecord(door) && door['fleet'] === true && !isRecord(fleet)) {
      problems.add(
        ['doors', index, 'fleet'],
        'expected a top-level "fleet" block (servers, group, keyFile) for a fleet door, got none',
      );
    }
  });
  if (!isRecord(fleet)) return;
  const methods = ['credentials', 'user', 'token'].filter((key) => present(fleet[key]));
  if (methods.length > 1)
    problems.add(
      ['fleet'],
      `expected at most one of credentials, user/password or token, got ${methods.join(' and ')}`,
    );
  if (present(fleet['user']) !== present(fleet['password'])) {
    problems.add(['fleet', present(fleet['user']) ? 'password' : 'user'], 'missing; user and password go together');
  }
  const tls = fleet['tls'];
  if (isRecord(tls) && present(tls['cert']) !== present(tls['key'])) {
    problems.add(
      ['fleet', 'tls', present(tls['cert']) ? 'key' : 'cert'],
      'missing; a client certificate needs its key (and the key its certificate)',
    );
  }
  checkTiming(problems, fleet, 'maxClockSkew', 10, '10ms');
  checkTiming(problems, fleet, 'heartbeatInterval', 1000, '1s');
  checkTiming(problems, fleet, 'auditRetention', 60_000, '1m');
}

/** Reads the group key named by fleet.keyFile; a problem at that path when it cannot be used. */
export function readFleetKey(problems: Problems, data: unknown, baseDir: string | undefined): string | undefined {
  const fleet = isRecord(data) ? data['fleet'] : undefined;
  const path = ['fleet', 'keyFile'];
  if (!isRecord(fleet) || typeof fleet['keyFile'] !== 'string' || problems.has(path)) return undefined;
  const resolved = resolvePath(baseDir, fleet['keyFile']);
  const read = readSecretFile(resolved);
  if (!read.ok) {
    problems.add(path, `cannot read the group key from ${JSON.stringify(resolved)}: ${read.reason}`);
    return undefined;
  }
  if (read.secret.length < MIN_KEY_CHARS) {
    problems.add(
      path,
      `expected a group key of at least ${MIN_KEY_CHARS} characters in ${JSON.stringify(resolved)} (e.g. \`openssl rand -base64 48\`), got ${read.secret.length}`,
    );
    return undefined;
  }
  return read.secret;
}
