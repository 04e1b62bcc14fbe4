import standaloneCode from 'ajv/dist/standalone/index.js';
import { readSchemaText } from './schema-path.js';
import { AJV_OPTIONS, compileWithAjv, schemaHash } from './schema-validator.js';

// The config validator as JavaScript source, generated at build time with ajv's standalone
// mode: commands that load the config then skip importing and compiling ajv at start.
// (ajv's CommonJS module is both the function and its .default; TypeScript sees only the latter.)
export function precompiledSchemaModule(): string {
  const { ajv, validate } = compileWithAjv({ ...AJV_OPTIONS, code: { source: true } });
  const hash = JSON.stringify(schemaHash(readSchemaText()));
  return `${standaloneCode.default(ajv, validate)}\nmodule.exports.validate = validate10;\nmodule.exports.schemaHash = ${hash};\n`;
}
