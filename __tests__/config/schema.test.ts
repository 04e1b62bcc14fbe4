import { describe, expect, test } from '@jest/globals';
import { isAbsolute } from 'node:path';
import { existsSync } from 'node:fs';
import { schemaPath } from '../../src/config/load-config.js';
import { readSchema } from '../../src/config/schema-path.js';
import { patternMeaning } from '../../src/config/schema-messages.js';

// The schema is also the editor's documentation: every key explained, with its default.
type Node = Record<string, unknown>;

function propertiesOf(node: unknown, path: string, found: [string, Node][] = []): [string, Node][] {
  if (Array.isArray(node)) node.forEach((child, index) => propertiesOf(child, `${path}[${index}]`, found));
  if (node === null || typeof node !== 'object') return found;
  for (const [key, child] of Object.entries(node as Node)) {
    if (key === 'properties')
      for (const [name, property] of Object.entries(child as Node)) found.push([`${path}.${name}`, property as Node]);
    propertiesOf(child, `${path}.${key}`, found);
  }
  return found;
}

function patternsOf(node: unknown, found: string[] = []): string[] {
  if (node === null || typeof node !== 'object') return found;
  for (const [key, child] of Object.entries(node as Node)) {
    if (key === 'pattern' && typeof child === 'string') found.push(child);
    else patternsOf(child, found);
  }
  return found;
}

describe('the shipped schema', () => {
  test('schemaPath is the absolute path of src/config/schema.json in the package', () => {
    expect(isAbsolute(schemaPath())).toBe(true);
    expect(schemaPath()).toMatch(/[/\\]src[/\\]config[/\\]schema\.json$/);
    expect(existsSync(schemaPath())).toBe(true);
  });

  test('every property has a description and a default', () => {
    const properties = propertiesOf(readSchema(), '#');
    expect(properties.length).toBeGreaterThan(30);
    const lacking = properties
      .filter(([, property]) => typeof property['description'] !== 'string' || !('default' in property))
      .map(([path]) => path);
    expect(lacking).toEqual([]);
  });

  test('every pattern has a human explanation for error messages', () => {
    const unexplained = patternsOf(readSchema()).filter((pattern) => patternMeaning(pattern) === undefined);
    expect(unexplained).toEqual([]);
  });

  test('it declares a JSON Schema draft that editors understand and allows a $schema key', () => {
    const schema = readSchema();
    expect(schema['$schema']).toBe('http://json-schema.org/draft-07/schema#');
    expect((schema['properties'] as Node)['$schema']).toMatchObject({ type: 'string' });
  });
});
