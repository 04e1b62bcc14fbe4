// Resizing a door's ipset (limits.maxGrants changed): `ipset restore` input that creates a
// scratch set like `name` but with `maxelem` and copies its members with their timeouts left.
// The scratch name never matches a door's set name, so listings and teardown ignore it.
export const RESIZE_SET = 'kt-resize-tmp';

/** `saved` is `ipset save NAME`: one `create` line, then `add NAME MEMBER [timeout N]` lines. */
export function buildResizeRestore(saved: string, name: string, scratch: string, maxelem: number): string {
  const out: string[] = [];
  for (const line of saved.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[1] !== name) continue;
    if (words[0] === 'create') {
      const at = words.indexOf('maxelem');
      const rest = words.slice(2);
      if (at === -1) rest.push('maxelem', String(maxelem));
      else rest[at - 1] = String(maxelem);
      out.push(['create', scratch, ...rest].join(' '));
    } else if (words[0] === 'add') {
      out.push(['add', scratch, ...words.slice(2)].join(' '));
    }
  }
  return `${out.join('\n')}\n`;
}
