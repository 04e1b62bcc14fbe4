import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Ajv as AjvClass, Options, ValidateFunction } from 'ajv';
import { readSchema, readSchemaText } from './schema-path.js';
import { describeSchemaError, type SchemaProblem } from './schema-messages.js';

// Structural validation against the shipped schema. `useDefaults` fills missing keys in
// place, so callers pass a copy of what they read.
export type SchemaCheck = (data: unknown) => SchemaProblem[];

/** The built validator, written next to this module by `npm run build` (scripts/precompile-schema.ts). */
export const PRECOMPILED_FILE = 'schema-check.generated.cjs';

export const AJV_OPTIONS: Options = {
  allErrors: true,
  useDefaults: true,
  verbose: true,
  allowUnionTypes: true,
  strict: true,
};

// The module shapes are CommonJS: loaded with require so that validateConfig stays synchronous.
const require = createRequire(import.meta.url);

interface PrecompiledModule {
  readonly schemaHash: string;
  readonly validate: ValidateFunction;
}

// Required keys carry a `default` in the schema only as an example for editors; ajv would
// fill it in and a config without doors (or a door without a name) would pass silently.
export function withoutRequiredDefaults(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutRequiredDefaults);
  if (node === null || typeof node !== 'object') return node;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) copy[key] = withoutRequiredDefaults(value);
  const required = copy['required'];
  const properties = copy['properties'];
  if (Array.isArray(required) && properties !== null && typeof properties === 'object') {
    for (const key of required) {
      const property = (properties as Record<string, unknown>)[String(key)];
      if (property !== null && typeof property === 'object') delete (property as Record<string, unknown>)['default'];
    }
  }
  return copy;
}

/** Identifies the schema a precompiled validator was built from. */
export function schemaHash(schemaText: string): string {
  return createHash('sha256').update(schemaText).digest('hex');
}

/** Compiles the schema with ajv in this process (tens of milliseconds). */
export function compileWithAjv(ajvOptions: Options = AJV_OPTIONS): { ajv: AjvClass; validate: ValidateFunction } {
  const { Ajv } = require('ajv') as typeof import('ajv');
  const ajv = new Ajv(ajvOptions);
  return { ajv, validate: ajv.compile(withoutRequiredDefaults(readSchema()) as object) };
}

// The build's validator when it matches the shipped schema byte for byte; otherwise (running
// from src/ under ts-jest, or a schema edited after the build) ajv compiles it here.
function loadPrecompiled(path: string): ValidateFunction | undefined {
  let built: PrecompiledModule;
  try {
    built = require(path) as PrecompiledModule;
  } catch {
    return undefined;
  }
  return built.schemaHash === schemaHash(readSchemaText()) ? built.validate : undefined;
}

/** The schema check: the precompiled validator (null: none) when present and current, else compiled now. Do it once per process. */
export function compileSchemaCheck(precompiled: string | null = `./${PRECOMPILED_FILE}`): SchemaCheck {
  const validate = (precompiled === null ? undefined : loadPrecompiled(precompiled)) ?? compileWithAjv().validate;
  return (data) => (validate(data) ? [] : (validate.errors ?? []).map(describeSchemaError));
}
