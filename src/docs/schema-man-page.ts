import { roffRequest, roffText, sentence } from './roff.js';

// A section-5 page for a JSON config file, generated from its JSON Schema: every property
// with its dotted path, type, default and description, nested objects and arrays of
// objects included, so the page says exactly what the validator accepts.
type Schema = Record<string, unknown>;

export interface SchemaPageMeta {
  /** Page name, e.g. "knocktail.json". */
  readonly name: string;
  readonly summary: string;
  readonly date: string;
  readonly version: string;
  /** Paragraphs (plain text) before the key list. */
  readonly intro: readonly string[];
  /** An example file, shown verbatim. */
  readonly example: string;
  readonly files: readonly [path: string, what: string][];
  /** "knocktail(8)" etc. */
  readonly seeAlso: readonly string[];
}

function resolveRef(root: Schema, node: Schema): Schema {
  const ref = node['$ref'];
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return node;
  let target: unknown = root;
  for (const segment of ref.slice(2).split('/')) target = (target as Schema | undefined)?.[segment];
  return (target as Schema | undefined) ?? node;
}

function typeOf(root: Schema, node: Schema): string {
  const resolved = resolveRef(root, node);
  const types = ([] as unknown[]).concat(resolved['type'] ?? 'any').map(String);
  return types
    .map((type) => {
      if (type !== 'array') return type;
      const items = resolved['items'] as Schema | undefined;
      if (!items || typeof items !== 'object') return 'array';
      const ref = typeof items['$ref'] === 'string' ? items['$ref'].split('/').at(-1) : undefined;
      return `array of ${ref ?? typeOf(root, items)}`;
    })
    .join(' or ');
}

function keyItem(root: Schema, path: string, node: Schema, required: boolean): string[] {
  const resolved = resolveRef(root, node);
  const facts = [typeOf(root, node)];
  if (required) facts.push('required');
  else if ('default' in resolved) facts.push(`default ${JSON.stringify(resolved['default'])}`);
  const enumValues = Array.isArray(resolved['enum'])
    ? ` One of: ${resolved['enum'].map((value) => `\\fB${roffText(JSON.stringify(value))}\\fR`).join(', ')}.`
    : '';
  const description = typeof resolved['description'] === 'string' ? sentence(resolved['description']) : '';
  return ['.TP', `\\fB${roffText(path)}\\fR (${roffText(facts.join(', '))})`, `${roffText(description)}${enumValues}`];
}

// Each property, then the properties of an object value or of an array's object items.
function keyItems(root: Schema, prefix: string, node: Schema): string[] {
  const properties = (node['properties'] ?? {}) as Record<string, Schema>;
  const required = new Set(Array.isArray(node['required']) ? node['required'].map(String) : []);
  return Object.entries(properties).flatMap(([key, child]) => {
    const path = `${prefix}${key}`;
    const resolved = resolveRef(root, child);
    const items = resolved['items'] ? resolveRef(root, resolved['items'] as Schema) : undefined;
    const additional = resolved['additionalProperties'];
    const map = additional && typeof additional === 'object' ? resolveRef(root, additional as Schema) : undefined;
    const nested = resolved['properties']
      ? keyItems(root, `${path}.`, resolved)
      : items?.['properties']
        ? keyItems(root, `${path}[].`, items)
        : map?.['properties']
          ? keyItems(root, `${path}.NAME.`, map)
          : [];
    return [...keyItem(root, path, child, required.has(key)), ...nested];
  });
}

// Definitions that are plain values (a knock step, a port): named in the type column.
function valueItems(root: Schema): string[] {
  const definitions = (root['definitions'] ?? {}) as Record<string, Schema>;
  return Object.entries(definitions)
    .filter(([, definition]) => !definition['properties'])
    .flatMap(([name, definition]) => [
      '.TP',
      `\\fI${roffText(name)}\\fR (${roffText(typeOf(root, definition))})`,
      roffText(sentence(typeof definition['description'] === 'string' ? definition['description'] : '')),
    ]);
}

export function renderSchemaManPage(schema: Schema, meta: SchemaPageMeta): string {
  const lines = [
    `.\\" Generated from the JSON Schema by \`npm run build\`; do not edit.`,
    roffRequest('TH', meta.name.toUpperCase(), '5', meta.date, `knocktail ${meta.version}`, 'File Formats'),
    '.nh',
    '.SH NAME',
    `${roffText(meta.name)} \\- ${roffText(meta.summary)}`,
    '.SH DESCRIPTION',
    ...meta.intro.flatMap((paragraph, index) => [...(index > 0 ? ['.PP'] : []), roffText(paragraph)]),
    ...(typeof schema['description'] === 'string' ? ['.PP', roffText(schema['description'])] : []),
    '.SH KEYS',
    'Keys are written with their path: \\fBa.b\\fR is key \\fBb\\fR of the object \\fBa\\fR, \\fBa[].b\\fR key \\fBb\\fR of each entry of the list \\fBa\\fR, \\fBa.NAME.b\\fR key \\fBb\\fR of each entry of the object \\fBa\\fR (named as you choose).',
    ...keyItems(schema, '', schema),
    ...(valueItems(schema).length > 0 ? ['.SH VALUES', ...valueItems(schema)] : []),
    '.SH EXAMPLE',
    '.nf',
    '.RS',
    ...meta.example
      .trimEnd()
      .split('\n')
      .map((line) => roffText(line)),
    '.RE',
    '.fi',
    '.SH FILES',
    ...meta.files.flatMap(([path, what]) => ['.TP', `\\fI${roffText(path)}\\fR`, roffText(sentence(what))]),
    '.SH "SEE ALSO"',
    meta.seeAlso
      .map((page) => {
        const match = /^(.*)\((\d)\)$/.exec(page);
        return match ? `\\fB${roffText(match[1]!)}\\fR(${match[2]})` : roffText(page);
      })
      .join(', '),
  ];
  return `${lines.join('\n')}\n`;
}
