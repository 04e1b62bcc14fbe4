import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokenLinks, headingAnchors, markdownLinks } from './markdown-links.js';

// The README is the front door and docs/ the reference: every relative link between them
// must lead somewhere, down to the heading.
const root = process.cwd();
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join('docs', name)),
];
const readme = readFileSync(join(root, 'README.md'), 'utf8');

describe('the documentation links', () => {
  test.each(pages)('every relative link of %s resolves, files and #anchors', (page) => {
    expect(brokenLinks(join(root, page), root)).toEqual([]);
  });

  test('the README links every page of docs/', () => {
    const linked = new Set(markdownLinks(readme).map((link) => link.target.split('#')[0]));
    expect(pages.filter((page) => page !== 'README.md' && !linked.has(page))).toEqual([]);
  });
});

describe('docs/architecture.md', () => {
  test('names every folder and every loose file of src/', () => {
    const map = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8');
    const entries = readdirSync(join(root, 'src'), { withFileTypes: true }).map((entry) =>
      entry.isDirectory() ? `src/${entry.name}/` : `src/${entry.name}`,
    );
    expect(
      entries.filter((entry) => !map.includes(`\`${entry}\``) && !map.includes(`${entry.replace(/\/$/, '')}\``)),
    ).toEqual([]);
  });
});

describe('the README as a front door', () => {
  test('stays short: at most 300 lines', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(300);
  });

  test('shows the two commands of a fresh machine: npm ci && npm start, then npm test', () => {
    expect(readme).toMatch(/^npm ci && npm start\s+#.*no root/m);
    expect(readme).toMatch(/^npm test\s+#/m);
  });
});

describe('the link checker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'knocktail-links-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  writeFileSync(
    join(dir, 'other.md'),
    '# Next to ufw, firewalld: or `nft`\n\n## Twice\n\n## Twice\n\n```sh\n# not a heading\n```\n',
  );
  writeFileSync(
    join(dir, 'page.md'),
    [
      '# Page',
      'A [good](other.md#next-to-ufw-firewalld-or-nft), a [second](other.md#twice-1), [here](#page), [web](https://example.org/x).',
      'A [missing file](gone.md), a [missing anchor](other.md#not-there), [in code](`x.md`) and `[code](nowhere.md)`.',
      '```',
      '[fenced](nowhere-either.md)',
      '```',
    ].join('\n'),
  );

  test('gives headings the anchors GitHub gives them, outside code blocks only', () => {
    expect([...headingAnchors(readFileSync(join(dir, 'other.md'), 'utf8'))]).toEqual([
      'next-to-ufw-firewalld-or-nft',
      'twice',
      'twice-1',
    ]);
  });

  test('names a missing file and a missing anchor with their line, and ignores code and web links', () => {
    expect(brokenLinks(join(dir, 'page.md'), dir)).toEqual([
      'page.md:3: gone.md (no such file gone.md)',
      'page.md:3: other.md#not-there (no heading makes #not-there in other.md)',
    ]);
  });
});
