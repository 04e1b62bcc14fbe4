import { readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { osReason } from '../config/os-reason.js';
import { parseJsonText } from '../config/json-text.js';
import { Problems } from '../config/problems.js';
import { describeSchemaError } from '../config/schema-messages.js';
import { schemaPath } from '../config/schema-path.js';
import { readSecretFile } from '../config/secret-file.js';
import { readSpaKeyFile } from '../config/spa-key-file.js';
import { parseStep } from '../config/steps.js';
import { parseDuration } from '../model/duration.js';
import { KnocktailError } from '../model/errors.js';
import { normaliseAddress, type Family } from '../model/address.js';
import { decodeSpaKeys, type SpaKeys } from '../spa/spa-keys.js';
import type { Step, TimeBasedSequence } from '../model/door.js';

// The client's own file (~/.config/knocktail/client.json): per server, where to knock and
// what to send. Validated like the server config (ajv against the shipped schema, every
// problem with its JSON path, then the checks across values), and it holds nothing of the
// server's config: steps, the file with a time-based door's secret, or an SPA door's key files.
export type ClientProfile = KnockProfile | SpaProfile;

export interface KnockProfile {
  readonly kind: 'knock';
  readonly name: string;
  readonly host: string;
  readonly family?: Family;
  readonly steps: readonly Step[];
  readonly closeSteps: readonly Step[];
  readonly timeBased?: TimeBasedSequence;
  /** Where the time-based secret was read from. */
  readonly secretFile?: string;
  /** ms between two knocks. */
  readonly delayMs: number;
  readonly verify?: number;
}

/** A profile that sends one SPA packet, as `knocktail knock HOST --spa` with these flags would. */
export interface SpaProfile {
  readonly kind: 'spa';
  readonly name: string;
  readonly host: string;
  readonly family?: Family;
  readonly port: number;
  /** Decoded from the two files, which were read as `--key-file` and `--hmac-key-file` read them. */
  readonly keys: SpaKeys;
  readonly keyFile: string;
  readonly hmacKeyFile: string;
  /** fwknop's -A form: "tcp/22,udp/53". */
  readonly access: string;
  readonly allow: string;
  /** Seconds (fwknop -f); absent = the server's own. */
  readonly fwTimeout?: number;
  readonly verify?: number;
}

export type ClientProfiles = ReadonlyMap<string, ClientProfile>;

export interface LoadedProfiles {
  readonly profiles: ClientProfiles;
  /** Files others can read (a knock sequence or secret is a password): "PATH is readable by …". */
  readonly warnings: readonly string[];
}

// As ssh and fwknop do for keys and ~/.fwknoprc: a file holding a knock or a secret should be
// readable by its owner only. A warning, not a refusal: the knock still goes out.
export function looseModeWarning(path: string): string | undefined {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    return undefined;
  }
  if ((mode & 0o077) === 0) return undefined;
  return `${path} is readable by ${mode & 0o007 ? 'everyone' : 'its group'} (mode ${mode.toString(8).padStart(4, '0')}); it holds a knock or a secret: chmod 600 ${path}`;
}

interface RawTimeBased {
  secretFile: string;
  length: number;
  period: string;
  portRange: [number, number];
  proto: 'tcp' | 'udp';
}

interface RawProfile {
  host: string;
  family: 4 | 6 | null;
  steps: string[];
  closeSteps: string[];
  timeBased: RawTimeBased | null;
  delay: string;
  verify: number | null;
  spa: { port: number; keyFile: string; hmacKeyFile: string } | null;
  access: string[];
  allow: string;
  fwTimeout: number | null;
}

/** The keys only one kind of profile may have (as written, before the schema's defaults). */
const KNOCK_KEYS = ['steps', 'closeSteps', 'timeBased', 'delay'] as const;
const SPA_KEYS = ['spa', 'access', 'allow', 'fwTimeout'] as const;

/** $XDG_CONFIG_HOME/knocktail/client.json, else ~/.config/knocktail/client.json. */
export function clientConfigPath(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const xdg = env['XDG_CONFIG_HOME'];
  if (xdg) return join(xdg, 'knocktail', 'client.json');
  const home = env['HOME'];
  return home ? join(home, '.config', 'knocktail', 'client.json') : undefined;
}

function clientSchemaFile(): string {
  return join(dirname(dirname(schemaPath())), 'client', 'client-schema.json');
}

// The compiled schema is a pure function of the shipped file; once per process is enough.
let validate: ValidateFunction | undefined;

/** The shipped client schema, parsed. */
export function readClientSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(clientSchemaFile(), 'utf8')) as Record<string, unknown>;
}

function compile(): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, verbose: true, allowUnionTypes: true, strict: true });
  return ajv.compile(readClientSchema());
}

function expandHome(path: string, home: string | undefined, baseDir: string): string {
  if (path === '~' || path.startsWith('~/')) return join(home ?? '~', path.slice(1));
  return resolve(baseDir, path);
}

interface ProfileOptions {
  readonly baseDir: string;
  readonly home?: string;
}

// A profile is a knock profile or an SPA profile, never both: its keys say which.
function toProfile(
  name: string,
  raw: RawProfile,
  given: readonly string[],
  problems: Problems,
  options: ProfileOptions,
): ClientProfile | undefined {
  const at = ['profiles', name];
  const knockKeys = KNOCK_KEYS.filter((key) => given.includes(key));
  const spaKeys = SPA_KEYS.filter((key) => given.includes(key));
  if (raw.spa === null && spaKeys.length > 0) {
    problems.add(at, `expected \`${spaKeys.join('`, `')}\` only with \`spa\` (an SPA profile), got no \`spa\``);
    return undefined;
  }
  if (raw.spa !== null && knockKeys.length > 0) {
    problems.add(
      at,
      `expected either an SPA profile (\`spa\`) or a knock profile (\`${knockKeys.join('`, `')}\`), got both`,
    );
    return undefined;
  }
  return raw.spa === null
    ? toKnockProfile(name, raw, problems, options)
    : toSpaProfile(name, raw, raw.spa, problems, options);
}

function toSpaProfile(
  name: string,
  raw: RawProfile,
  spa: NonNullable<RawProfile['spa']>,
  problems: Problems,
  options: ProfileOptions,
): SpaProfile | undefined {
  const at = ['profiles', name];
  if (!normaliseAddress(raw.allow))
    problems.add(
      [...at, 'allow'],
      `expected an IPv4 or IPv6 address (0.0.0.0: the one the packet comes from), got ${JSON.stringify(raw.allow)}`,
    );
  const read = (field: 'keyFile' | 'hmacKeyFile', kind: 'encryption' | 'hmac'): { file: string; value?: string } => {
    const file = expandHome(spa[field], options.home, options.baseDir);
    const result = readSpaKeyFile(file, kind);
    if (!result.ok) problems.add([...at, 'spa', field], result.problem);
    return result.ok ? { file, value: result.value } : { file };
  };
  const key = read('keyFile', 'encryption');
  const hmacKey = read('hmacKeyFile', 'hmac');
  if (key.value === undefined || hmacKey.value === undefined || problems.count > 0) return undefined;
  return {
    kind: 'spa',
    name,
    host: raw.host,
    ...(raw.family === null ? {} : { family: raw.family }),
    port: spa.port,
    keys: decodeSpaKeys(key.value, hmacKey.value),
    keyFile: key.file,
    hmacKeyFile: hmacKey.file,
    access: raw.access.join(','),
    allow: raw.allow,
    ...(raw.fwTimeout === null ? {} : { fwTimeout: raw.fwTimeout }),
    ...(raw.verify === null ? {} : { verify: raw.verify }),
  };
}

function toKnockProfile(
  name: string,
  raw: RawProfile,
  problems: Problems,
  options: ProfileOptions,
): KnockProfile | undefined {
  const at = ['profiles', name];
  if (raw.steps.length === 0 && raw.timeBased === null)
    problems.add(at, 'expected `steps`, `timeBased` or `spa`, got none');
  if (raw.steps.length > 0 && raw.timeBased !== null)
    problems.add(at, 'expected either `steps` or `timeBased`, got both');
  let timeBased: TimeBasedSequence | undefined;
  let secretFile: string | undefined;
  if (raw.timeBased) {
    const spec = raw.timeBased;
    const period = parseDuration(spec.period) ?? 0;
    if (period < 1000) problems.add([...at, 'timeBased', 'period'], `expected at least 1s, got "${spec.period}"`);
    if (spec.portRange[0] > spec.portRange[1] || (spec.length > 1 && spec.portRange[0] === spec.portRange[1])) {
      problems.add(
        [...at, 'timeBased', 'portRange'],
        `expected [low, high] with at least 2 ports, got [${spec.portRange.join(', ')}]`,
      );
    }
    const file = expandHome(spec.secretFile, options.home, options.baseDir);
    secretFile = file;
    const read = readSecretFile(file);
    if (!read.ok)
      problems.add(
        [...at, 'timeBased', 'secretFile'],
        `cannot read the secret from ${JSON.stringify(file)}: ${read.reason}`,
      );
    else timeBased = { secret: read.secret, length: spec.length, period, portRange: spec.portRange, proto: spec.proto };
  }
  if (problems.count > 0) return undefined;
  return {
    kind: 'knock',
    name,
    host: raw.host,
    ...(raw.family === null ? {} : { family: raw.family }),
    steps: raw.steps.map((text) => parseStep(text)!),
    closeSteps: raw.closeSteps.map((text) => parseStep(text)!),
    ...(timeBased && secretFile ? { timeBased, secretFile } : {}),
    delayMs: parseDuration(raw.delay) ?? 0,
    ...(raw.verify === null ? {} : { verify: raw.verify }),
  };
}

/** Validates a parsed client.json; every problem as "path: message". */
export function validateClientProfiles(
  raw: unknown,
  options: ProfileOptions,
): { ok: true; profiles: ClientProfiles } | { ok: false; errors: string[] } {
  const data = structuredClone(raw);
  validate ??= compile();
  const problems = new Problems();
  if (!validate(data)) {
    for (const error of validate.errors ?? []) {
      const problem = describeSchemaError(error);
      problems.addAt(problem.path, problem.message);
    }
    return { ok: false, errors: problems.lines() };
  }
  const profiles = new Map<string, ClientProfile>();
  // The keys written with a value: `"spa": null` or `"verify": null` says "not this kind's".
  const written = (raw as { profiles?: Record<string, Record<string, unknown>> }).profiles ?? {};
  const given = (name: string): string[] =>
    Object.entries(written[name] ?? {}).flatMap(([key, value]) => (value === null ? [] : [key]));
  for (const [name, profile] of Object.entries((data as { profiles: Record<string, RawProfile> }).profiles)) {
    const converted = toProfile(name, profile, given(name), problems, options);
    if (converted) profiles.set(name, converted);
  }
  return problems.count > 0 ? { ok: false, errors: problems.lines() } : { ok: true, profiles };
}

/** Reads and validates client.json; throws CONFIG_UNREADABLE (the cause keeps the OS error) or CONFIG_INVALID. */
export async function loadClientProfiles(path: string, home?: string): Promise<LoadedProfiles> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new KnocktailError('CONFIG_UNREADABLE', `cannot read client profiles ${path}: ${osReason(error)}`, {
      cause: error,
    });
  }
  const parsed = parseJsonText(text);
  if (!parsed.ok)
    throw new KnocktailError(
      'CONFIG_INVALID',
      `${path}: not valid JSON at line ${parsed.line}, column ${parsed.column}`,
      { details: [parsed.message] },
    );
  const result = validateClientProfiles(parsed.value, { baseDir: dirname(resolve(path)), ...(home ? { home } : {}) });
  if (result.ok) {
    const secretFiles = [...result.profiles.values()].flatMap((profile) =>
      profile.kind === 'spa' ? [profile.keyFile, profile.hmacKeyFile] : (profile.secretFile ?? []),
    );
    const warnings = [path, ...secretFiles].flatMap((file) => looseModeWarning(file) ?? []);
    return { profiles: result.profiles, warnings };
  }
  const count = result.errors.length;
  throw new KnocktailError('CONFIG_INVALID', `${path}: ${count} problem${count === 1 ? '' : 's'}`, {
    details: result.errors,
  });
}
