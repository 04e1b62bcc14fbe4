import { Ajv, type ValidateFunction } from 'ajv';
import { readSchema } from './schema-path.js';
import { describeSchemaError, type SchemaProblem } from './schema-messages.js';

// Structural validation against the shipped schema. `useDefaults` fills missing keys in
// place, so callers pass a copy of what they read.
export type SchemaCheck = (data: unknown) => SchemaProblem[];

// Required keys carry a `default` in the schema only as an example for editors; ajv would
// fill it in and a config without doors (or a door without a name) would pass silently.
function withoutRequiredDefaults(node: unknown): unknown {
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

/** Compiles the schema (a few milliseconds; do it once per process and reuse the result). */
export function compileSchemaCheck(): SchemaCheck {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, verbose: true, allowUnionTypes: true, strict: true });
  const validate: ValidateFunction = ajv.compile(withoutRequiredDefaults(readSchema()) as object);
  return (data) => (validate(data) ? [] : (validate.errors ?? []).map(describeSchemaError));
}
