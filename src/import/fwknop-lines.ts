// The line syntax fwknop's files share (fwknopd's access.conf, the client's ~/.fwknoprc):
// "VARIABLE  value" (an optional ";" at the end), "#" comments, and "[name]" stanza headers
// (~/.fwknoprc only). Pure; each importer groups the lines into its own stanzas.
export type FwknopLine =
  | { readonly kind: 'section'; readonly name: string; readonly line: number }
  | { readonly kind: 'variable'; readonly key: string; readonly value: string; readonly line: number };

export function readFwknopLines(text: string): FwknopLine[] {
  const lines: FwknopLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/#.*$/, '').trim();
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      lines.push({ kind: 'section', name: section[1]!.trim(), line: index + 1 });
      return;
    }
    const match = /^([A-Z0-9_]+)\s+(.+?);?$/.exec(line);
    if (match) lines.push({ kind: 'variable', key: match[1]!, value: match[2]!.trim(), line: index + 1 });
  });
  return lines;
}
