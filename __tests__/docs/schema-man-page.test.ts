import { describe, expect, test } from '@jest/globals';
import { readClientSchema } from '../../src/client/client-profiles.js';
import { clientManPage, configManPage } from '../../src/cli/docs-files.js';
import { readSchema } from '../../src/config/schema-path.js';
import { renderSchemaManPage } from '../../src/docs/schema-man-page.js';

// knocktail.json(5) is generated from the shipped JSON Schema: every key at every depth,
// with its default, is in the page.
type Schema = Record<string, unknown>;

// Every property path the schema declares, found by a walk of its own (not the generator's).
function propertyPaths(root: Schema, node: Schema, prefix: string): string[] {
  const deref = (n: Schema): Schema =>
    typeof n['$ref'] === 'string' ? (root['definitions'] as Record<string, Schema>)[n['$ref'].split('/').at(-1)!]! : n;
  return Object.entries((node['properties'] ?? {}) as Record<string, Schema>).flatMap(([key, child]) => {
    const value = deref(child);
    const items = value['items'] ? deref(value['items'] as Schema) : undefined;
    const map =
      value['additionalProperties'] && typeof value['additionalProperties'] === 'object'
        ? deref(value['additionalProperties'] as Schema)
        : undefined;
    const below = value['properties']
      ? propertyPaths(root, value, `${prefix}${key}.`)
      : items?.['properties']
        ? propertyPaths(root, items, `${prefix}${key}[].`)
        : map?.['properties']
          ? propertyPaths(root, map, `${prefix}${key}.NAME.`)
          : [];
    return [`${prefix}${key}`, ...below];
  });
}

const roff = (text: string): string => text.replace(/-/g, '\\-');
const meta = {
  name: 'x.json',
  summary: 's',
  date: '2026-12-01',
  version: '0',
  intro: [],
  example: '{}',
  files: [],
  seeAlso: [],
};

describe('knocktail.json(5)', () => {
  const schema = readSchema();
  const page = configManPage('2026-12-01', '0.1.0');

  test('every property of the schema, nested ones included, is a key item of the page', () => {
    const paths = propertyPaths(schema, schema, '');
    expect(paths).toEqual(expect.arrayContaining(['firewall.backend', 'doors[].name', 'doors[].timeBased.secretFile']));
    for (const path of paths) expect(page).toContain(`.TP\n\\fB${roff(path)}\\fR (`);
  });

  test('types, defaults, required keys and enum values are stated', () => {
    expect(page).toContain('\\fBfirewall.backend\\fR (string, default "iptables")');
    expect(page).toContain('One of: \\fB"iptables"\\fR, \\fB"ipset"\\fR, \\fB"nftables"\\fR, \\fB"dry\\-run"\\fR.');
    expect(page).toContain('\\fBdoors\\fR (array of door, required)');
    expect(page).toContain('\\fBdoors[].sequence\\fR (array of step, default [])');
  });

  test('a property added to the schema appears without touching the generator', () => {
    const changed = structuredClone(schema) as Schema;
    ((changed['properties'] as Schema)['firewall'] as { properties: Schema }).properties['newKnob'] = {
      type: 'integer',
      default: 7,
      description: 'a new knob',
    };
    const rendered = renderSchemaManPage(changed, meta);
    expect(rendered).toContain('.TP\n\\fBfirewall.newKnob\\fR (integer, default 7)\nA new knob.');
    expect(page).not.toContain('newKnob');
  });
});

describe('knocktail-client.json(5)', () => {
  test('every property of the client schema, per profile, is a key item of the page', () => {
    const schema = readClientSchema();
    const page = clientManPage('2026-12-01', '0.1.0');
    const paths = propertyPaths(schema, schema, '');
    expect(paths).toEqual(
      expect.arrayContaining(['profiles.NAME.host', 'profiles.NAME.timeBased.secretFile', 'profiles.NAME.verify']),
    );
    for (const path of paths) expect(page).toContain(`.TP\n\\fB${roff(path)}\\fR (`);
  });
});
