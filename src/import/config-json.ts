// Renders an imported config the way the shipped examples are written: two-space JSON
// with each list of steps or ports on one line.
const KEY_ORDER = [
  'name',
  'spa',
  'sequence',
  'oneTimeSequences',
  'timeout',
  'open',
  'openFor',
  'closeSequence',
  'allowFrom',
];

function ordered(door: object): Record<string, unknown> {
  const entries = Object.entries(door).sort(([a], [b]) => KEY_ORDER.indexOf(a) - KEY_ORDER.indexOf(b));
  return Object.fromEntries(entries);
}

export function renderConfigJson(config: { doors: readonly object[] }): string {
  const text = JSON.stringify({ ...config, doors: config.doors.map(ordered) }, null, 2);
  // A list holding only strings (no nested lists or objects) goes on one line.
  return `${text.replace(/\[\s*("(?:[^"\\]|\\.)*"(?:,\s*"(?:[^"\\]|\\.)*")*)\s*\]/g, (_match, items: string) => `[${items.split(/,\s*/).join(', ')}]`)}\n`;
}
