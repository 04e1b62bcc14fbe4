import { isRecord } from '../model/is-record.js';
import { parseDuration } from '../model/duration.js';
import type { PathSegment } from './json-path.js';
import type { Problems } from './problems.js';
import { arrayOf } from './raw-config.js';
import { resolvePath } from './resolve-path.js';
import { readSpaKeyFile } from './spa-key-file.js';
import { parsePortSpec, parseStep } from './steps.js';

// SPA doors (docs/spa.md): what the schema cannot say, and the two key files, read like the
// fleet key (regular file, bounded, surrounding whitespace ignored) and checked as fwknop keys.
export interface SpaKeyTexts {
  readonly key: string;
  readonly hmacKey: string;
}

const MAX_AGE_LIMIT_MS = 86_400_000;

function spaOf(door: unknown): Record<string, unknown> | undefined {
  return isRecord(door) && isRecord(door['spa']) ? door['spa'] : undefined;
}

export function checkSpaDoors(problems: Problems, data: unknown): void {
  const doors = isRecord(data) ? arrayOf(data['doors']) : [];
  // Ports any door knocks on or opens: an SPA port must be neither.
  const used = new Map<string, number>();
  doors.forEach((door, index) => {
    if (!isRecord(door)) return;
    for (const text of arrayOf(door['open']))
      if (typeof text === 'string' && parsePortSpec(text)) used.set(text, index);
    for (const list of [door['sequence'], door['closeSequence'], ...arrayOf(door['oneTimeSequences'])]) {
      for (const text of arrayOf(list))
        if (typeof text === 'string' && parseStep(text)?.port !== undefined) used.set(text, index);
    }
  });
  doors.forEach((door, index) => {
    const spa = spaOf(door);
    if (!spa || !isRecord(door)) return;
    const at = (...rest: PathSegment[]): PathSegment[] => ['doors', index, ...rest];
    for (const key of ['sequence', 'oneTimeSequences', 'closeSequence'] as const) {
      if (arrayOf(door[key]).length > 0)
        problems.add(at(key), 'expected none on an SPA door (the packet is the knock), got a sequence');
    }
    if (isRecord(door['timeBased']))
      problems.add(at('timeBased'), 'expected null on an SPA door (the packet is the knock)');
    if (door['openFor'] === 'until-closed')
      problems.add(
        at('openFor'),
        'expected a duration on an SPA door ("until-closed" needs a close sequence, which SPA has not)',
      );
    const maxAge = typeof spa['maxAge'] === 'string' ? parseDuration(spa['maxAge']) : undefined;
    if (maxAge !== undefined && (maxAge < 1000 || maxAge > MAX_AGE_LIMIT_MS))
      problems.add(at('spa', 'maxAge'), `expected 1s to 1d, got ${JSON.stringify(spa['maxAge'])}`);
    const port = spa['port'];
    if (typeof port !== 'number') return;
    const owner = used.get(`udp:${port}`);
    if (owner !== undefined)
      problems.add(
        at('spa', 'port'),
        `udp:${port} is a knock or open port of doors[${owner}]; an SPA port must be used by SPA doors only`,
      );
  });
}

/** `keys[i]` for each SPA door i whose two files read and decode. */
export function readSpaKeys(problems: Problems, data: unknown, baseDir: string | undefined): Map<number, SpaKeyTexts> {
  const keys = new Map<number, SpaKeyTexts>();
  const doors = isRecord(data) ? arrayOf(data['doors']) : [];
  doors.forEach((door, index) => {
    const spa = spaOf(door);
    if (!spa) return;
    const read = (field: 'keyFile' | 'hmacKeyFile', kind: 'encryption' | 'hmac'): string | undefined => {
      const path = ['doors', index, 'spa', field];
      const file = spa[field];
      if (typeof file !== 'string' || problems.has(path)) return undefined;
      const result = readSpaKeyFile(resolvePath(baseDir, file), kind);
      if (!result.ok) problems.add(path, result.problem);
      return result.ok ? result.value : undefined;
    };
    const key = read('keyFile', 'encryption');
    const hmacKey = read('hmacKeyFile', 'hmac');
    if (key !== undefined && hmacKey !== undefined) keys.set(index, { key, hmacKey });
  });
  return keys;
}
