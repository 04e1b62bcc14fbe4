import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KnocktailError } from '../model/errors.js';

// The schema ships at src/config/schema.json in the package; this module runs from src/
// (ts-jest) or dist/src/ (after the build), so the package root is found by walking up.
const SCHEMA_IN_PACKAGE = join('src', 'config', 'schema.json');

function isPackageRoot(dir: string): boolean {
  const manifest = join(dir, 'package.json');
  if (!existsSync(manifest) || !existsSync(join(dir, SCHEMA_IN_PACKAGE))) return false;
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'knocktail';
  } catch {
    return false;
  }
}

/** Absolute path of the shipped config schema. */
export function schemaPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (isPackageRoot(dir)) return join(dir, SCHEMA_IN_PACKAGE);
    const parent = dirname(dir);
    if (parent === dir)
      throw new KnocktailError(
        'NOT_FOUND',
        `schema.json not found: no knocktail package root above ${fileURLToPath(import.meta.url)}`,
      );
    dir = parent;
  }
}

/** The shipped schema, as the file holds it. */
export function readSchemaText(): string {
  return readFileSync(schemaPath(), 'utf8');
}

/** The shipped schema, parsed. */
export function readSchema(): Record<string, unknown> {
  return JSON.parse(readSchemaText()) as Record<string, unknown>;
}
