// A knocktail door name from a knockd section name: "openSSH" → "ssh", "opencloseSMTP" →
// "smtp" (lowercase, "_"/"-" kept, at most 16 characters), unique within `taken`.
const MAX = 16;

export function doorName(section: string, taken: Set<string>): string {
  let base = section
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '');
  const stripped = base.replace(/^(openclose|open|close)[-_]?/, '');
  if (stripped !== '') base = stripped;
  if (base === '') base = 'door';
  base = base.slice(0, MAX).replace(/[-_]+$/, '');
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base.slice(0, MAX - String(n).length - 1)}-${n}`;
  taken.add(name);
  return name;
}
