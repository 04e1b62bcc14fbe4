import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { KnocktailError } from '../model/errors.js';
import type { Config } from './types.js';
import { checkDoorOverlaps } from './door-overlaps.js';
import { checkFleet, readFleetKey } from './fleet-checks.js';
import { parseJsonText } from './json-text.js';
import { osReason } from './os-reason.js';
import { Problems } from './problems.js';
import { isRecord } from '../model/is-record.js';
import { arrayOf, type RawConfig } from './raw-config.js';
import { resolvePath } from './resolve-path.js';
import { compileSchemaCheck, type SchemaCheck } from './schema-validator.js';
import { readSecretFile } from './secret-file.js';
import { checkSpaDoors, readSpaKeys } from './spa-checks.js';
import { toConfig } from './to-config.js';
import { checkDoorStrength } from './door-strength.js';
import { checkValues } from './value-checks.js';

export { schemaPath } from './schema-path.js';

// Config is validated once, at the edge, and every problem is reported at once: the
// schema first (shape, defaults), then the checks across values and doors.
export type ValidationResult = { ok: true; config: Config } | { ok: false; errors: string[] };

// The compiled schema is a pure function of the shipped file; compiling it once per
// process keeps `validateConfig` cheap for callers that validate often (tests, reloads).
let schemaCheck: SchemaCheck | undefined;

function readSecrets(problems: Problems, data: unknown, baseDir: string | undefined): Map<number, string> {
  const secrets = new Map<number, string>();
  const doors = isRecord(data) ? arrayOf(data['doors']) : [];
  doors.forEach((door, index) => {
    const timeBased = isRecord(door) && isRecord(door['timeBased']) ? door['timeBased'] : {};
    const file = timeBased['secretFile'];
    const path = ['doors', index, 'timeBased', 'secretFile'];
    // With both secret and secretFile the door is already refused; no need to read.
    if (typeof file !== 'string' || timeBased['secret'] != null || problems.has(path)) return;
    const resolved = resolvePath(baseDir, file);
    const read = readSecretFile(resolved);
    if (read.ok) secrets.set(index, read.secret);
    else problems.add(path, `cannot read the secret from ${JSON.stringify(resolved)}: ${read.reason}`);
  });
  return secrets;
}

/** Validates a parsed config document; never throws. Relative paths resolve against `baseDir`. */
export function validateConfig(raw: unknown, options: { baseDir?: string } = {}): ValidationResult {
  const problems = new Problems();
  let data: unknown;
  try {
    data = structuredClone(raw); // ajv's useDefaults writes into the document
  } catch {
    return { ok: false, errors: ['(root): expected a JSON document, got a value that cannot be copied'] };
  }
  schemaCheck ??= compileSchemaCheck();
  for (const problem of schemaCheck(data)) problems.addAt(problem.path, problem.message);
  // The checks below read a possibly malformed document; a slip there is a knocktail bug,
  // reported like a problem rather than thrown at the caller.
  try {
    checkValues(problems, data);
    checkDoorOverlaps(problems, data);
    checkFleet(problems, data);
    const secrets = readSecrets(problems, data, options.baseDir);
    checkSpaDoors(problems, data);
    const spaKeys = readSpaKeys(problems, data, options.baseDir);
    const fleetKey = readFleetKey(problems, data, options.baseDir);
    if (problems.count === 0) {
      const config = toConfig(data as RawConfig, options.baseDir, secrets, fleetKey, spaKeys);
      // Judged on the loaded doors, so a secret read from its file counts too.
      const weak = checkDoorStrength(config.doors).problems;
      if (weak.length === 0) return { ok: true, config };
      return { ok: false, errors: weak };
    }
  } catch (error) {
    problems.addAt('(root)', `internal error while checking the config (please report): ${String(error)}`);
  }
  return { ok: false, errors: problems.lines() };
}

/** Reads, parses and validates a config file; throws KnocktailError CONFIG_UNREADABLE or CONFIG_INVALID. */
export async function loadConfig(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new KnocktailError('CONFIG_UNREADABLE', `cannot read config ${path}: ${osReason(error)}`, { cause: error });
  }
  const parsed = parseJsonText(text);
  if (!parsed.ok) {
    const where = `line ${parsed.line}, column ${parsed.column}`;
    throw new KnocktailError('CONFIG_INVALID', `${path}: not valid JSON at ${where}`, { details: [parsed.message] });
  }
  const result = validateConfig(parsed.value, { baseDir: dirname(resolve(path)) });
  if (result.ok) return result.config;
  const count = result.errors.length;
  throw new KnocktailError('CONFIG_INVALID', `${path}: ${count} problem${count === 1 ? '' : 's'}`, {
    details: result.errors,
  });
}
