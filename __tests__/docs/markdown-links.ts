import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

// Relative links of the README and docs/*.md, checked the way GitHub renders them: a path
// relative to the page, and an #anchor that one of the target page's headings produces.

/** One link found in a page: its target as written and the 1-based line it is on. */
export interface MarkdownLink {
  target: string;
  line: number;
}

/** The page's lines outside fenced code blocks. */
function proseLines(text: string): { text: string; line: number }[] {
  const lines: { text: string; line: number }[] = [];
  let fence: string | undefined;
  text.split('\n').forEach((raw, index) => {
    const opener = /^\s*(```+|~~~+)/.exec(raw)?.[1];
    if (opener !== undefined && (fence === undefined || opener.startsWith(fence))) {
      fence = fence === undefined ? opener : undefined;
      return;
    }
    if (fence === undefined) lines.push({ text: raw, line: index + 1 });
  });
  return lines;
}

/** Every inline link `[text](target)` of a Markdown page, outside code. */
export function markdownLinks(text: string): MarkdownLink[] {
  return proseLines(text).flatMap(({ text: raw, line: number }) =>
    [...raw.replace(/`+[^`]*`+/g, '').matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => ({
      target: m[1] ?? '',
      line: number,
    })),
  );
}

/** The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text: line } of proseLines(text)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = heading
      .replace(/`/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${String(count)}`);
  }
  return anchors;
}

/** The relative links of `file` that do not resolve, as "file:line: target (why)". */
export function brokenLinks(file: string, root: string): string[] {
  const text = readFileSync(file, 'utf8');
  const problems: string[] = [];
  for (const { target, line } of markdownLinks(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, man: … are not files
    const hash = target.indexOf('#');
    const path = hash === -1 ? target : target.slice(0, hash);
    const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const resolved = path === '' ? file : join(dirname(file), decodeURIComponent(path));
    const where = `${relative(root, file)}:${String(line)}: ${target}`;
    if (!existsSync(resolved)) problems.push(`${where} (no such file ${relative(root, resolved)})`);
    else if (
      anchor !== undefined &&
      resolved.endsWith('.md') &&
      !headingAnchors(readFileSync(resolved, 'utf8')).has(anchor)
    ) {
      problems.push(`${where} (no heading makes #${anchor} in ${relative(root, resolved)})`);
    }
  }
  return problems;
}
