import type { ErrorObject } from 'ajv';
import { DURATION_PATTERN } from '../model/duration.js';
import { describeValue } from '../model/errors.js';
import { formatPath, pointerSegments } from './json-path.js';
import { suggestKey } from './suggest-key.js';
import { didYouMean, suggestDuration, suggestStep } from './suggest-value.js';

// Turns ajv's errors into "path: expected …, got …" lines; ajv's own wording
// ("must match pattern ^(icmp|(tcp|udp):([1-9]…") is for schema authors, not admins.
const PORT_RANGE_TEXT = 'a port 1-65535';

/** What each schema pattern means, keyed by a fragment of the pattern. */
const PATTERN_MEANINGS: readonly [test: (pattern: string) => boolean, expected: string][] = [
  [(p) => p === DURATION_PATTERN, 'a duration like "30s" (units ms, s, m, h, d)'],
  [(p) => p.includes('until-closed'), 'a duration like "30s" (units ms, s, m, h, d) or "until-closed"'],
  [(p) => p.startsWith('^(icmp|'), `a knock step like "tcp:7000", "udp:8000" or "icmp" (${PORT_RANGE_TEXT})`],
  [(p) => p.startsWith('^(tcp|udp):'), `a port like "tcp:22" or "udp:53" (${PORT_RANGE_TEXT})`],
  [(p) => p.startsWith('^(tcp|udp)/'), `fwknop's form of a port, like "tcp/22" or "udp/53" (${PORT_RANGE_TEXT})`],
  [
    (p) => p.includes('{0,31}'),
    'a group name of 1-32 lowercase letters, digits, "_" or "-", starting with a letter or digit',
  ],
  [
    (p) => p.startsWith('^[A-Za-z0-9]'),
    'a host name of 1-63 letters, digits, "_" or "-", starting with a letter or digit',
  ],
  [
    (p) => p.startsWith('^(nats|tls)://'),
    'a NATS server URL like "tls://nats1.example.net:4222" (nats:// or tls://, a host and a port 1-65535)',
  ],
  [
    (p) => p.startsWith('^[a-z0-9]'),
    'a door name of 1-16 lowercase letters, digits, "_" or "-", starting with a letter or digit',
  ],
  [
    (p) => p.startsWith('^[ !#'),
    '1-28 printable ASCII characters other than `"` and `\\` (the kernel LOG prefix limit)',
  ],
  [(p) => p.includes('(second|minute|hour|day)'), 'a rate like "20/second" (per second, minute, hour or day)'],
  [
    (p) => p.startsWith('^[^\\u0000'),
    'a path without control characters, quotes, backslashes, "%", "*", "?", "[" or "]" (the systemd unit, rsyslog drop-in and logrotate snippet would misread them)',
  ],
  [(p) => p === '^auto$', 'a position 1 or more, or "auto"'],
  [(p) => p.includes('localhost'), 'HOST:PORT like "127.0.0.1:9469" or "[::1]:9469", or a bare port for loopback'],
];

export function patternMeaning(pattern: string): string | undefined {
  return PATTERN_MEANINGS.find(([test]) => test(pattern))?.[1];
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

function typeText(type: unknown): string {
  const types = (Array.isArray(type) ? type : [type]).map(String);
  const shown = types.length > 1 ? types.filter((name) => name !== 'null') : types;
  return shown.map((name) => TYPE_NAMES[name] ?? name).join(' or ');
}

function count(limit: unknown, singular: string, plural: string): string {
  const n = Number(limit);
  return `${n} ${n === 1 ? singular : plural}`;
}

function expectation(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'type':
      return typeText(params['type']);
    case 'enum':
      return `one of ${(params['allowedValues'] as unknown[]).map((value) => JSON.stringify(value)).join(', ')}`;
    case 'pattern':
      return patternMeaning(String(params['pattern'])) ?? `a string matching /${String(params['pattern'])}/`;
    case 'minimum':
      return `a number ≥ ${String(params['limit'])}`;
    case 'maximum':
      return `a number ≤ ${String(params['limit'])}`;
    case 'minItems':
      return `at least ${count(params['limit'], 'entry', 'entries')}`;
    case 'maxItems':
      return `at most ${count(params['limit'], 'entry', 'entries')}`;
    case 'minLength':
      return `at least ${count(params['limit'], 'character', 'characters')}`;
    case 'maxLength':
      return `at most ${count(params['limit'], 'character', 'characters')}`;
    default:
      return `a value that ${error.message ?? 'fits the schema'}`;
  }
}

export interface SchemaProblem {
  readonly path: string;
  readonly message: string;
}

/** Where and what for an ajv error (needs ajv's `verbose` option for the value and schema). */
const HIDDEN_KEYS = new Set(['secret', 'password', 'token']);

export function describeSchemaError(error: ErrorObject): SchemaProblem {
  const segments = pointerSegments(error.instancePath);
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'additionalProperties') {
    const key = String(params['additionalProperty']);
    const valid = Object.keys((error.parentSchema?.['properties'] as object | undefined) ?? {});
    const hint = suggestKey(key, valid);
    const suggestion = hint === undefined ? '' : ` (did you mean "${hint}"?)`;
    return {
      path: formatPath([...segments, key]),
      message: `unknown key${suggestion}; valid keys: ${valid.join(', ')}`,
    };
  }
  if (error.keyword === 'required') {
    return {
      path: formatPath([...segments, String(params['missingProperty'])]),
      message: 'missing; this key is required',
    };
  }
  // A secret of the wrong type is still a secret: do not echo it into terminals and journals.
  const got = HIDDEN_KEYS.has(String(segments.at(-1))) ? 'a hidden value' : describeValue(error.data);
  return {
    path: formatPath(segments),
    message: `expected ${expectation(error)}, got ${got}${error.keyword === 'pattern' ? didYouMean(suggestFor(String(params['pattern']), error.data)) : ''}`,
  };
}

// A likely meaning for a value its pattern refused: durations and knock steps only.
function suggestFor(pattern: string, value: unknown): string | undefined {
  if (pattern === DURATION_PATTERN || pattern.includes('until-closed')) return suggestDuration(value);
  if (pattern.startsWith('^(icmp|') || pattern.startsWith('^(tcp|udp):')) return suggestStep(value);
  return undefined;
}
