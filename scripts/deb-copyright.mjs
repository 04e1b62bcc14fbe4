#!/usr/bin/env node
// Writes the .deb's machine-readable copyright file (DEP-5) for a staged /usr/lib/knocktail:
// knocktail's own stanza, then one per bundled npm package, with its license and the
// copyright lines of its own LICENSE file, so the bundled code's notices ship with it.
// Usage: node scripts/deb-copyright.mjs STAGED_LIB_DIR INSTALL_PREFIX > copyright
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { URL } from 'node:url';

const [libDir, prefix] = process.argv.slice(2);
if (!libDir || !prefix) {
  process.stderr.write(
    'usage: deb-copyright.mjs STAGED_LIB_DIR INSTALL_PREFIX (e.g. build/deb/root/usr/lib/knocktail usr/lib/knocktail)\n',
  );
  process.exit(2);
}

// SPDX identifiers to Debian's license short names; Apache-2.0 ships in common-licenses.
const DEBIAN_NAME = {
  MIT: 'Expat',
  'Apache-2.0': 'Apache-2.0',
  'BSD-3-Clause': 'BSD-3-clause',
  'BSD-2-Clause': 'BSD-2-clause',
  ISC: 'ISC',
  Unlicense: 'Unlicense',
};
const STANDALONE = new Set(['Expat', 'Apache-2.0']);

function licenseFile(dir) {
  const name = readdirSync(dir).find((entry) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(entry));
  return name === undefined ? undefined : readFileSync(join(dir, name), 'utf8');
}

function copyrightLines(text, manifest) {
  const lines = (text ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^copyright\b/i.test(line))
    // Not the clauses of a license text that merely start with the word (Apache's "copyright license to …", "[yyyy]").
    .filter((line) => !/^copyright\s+(notice|holders?|license|owner|statement)\b|\[yyyy\]|\[name of/i.test(line))
    .map((line) => line.replace(/^copyright\s*(\(c\)|©)?\s*/i, '').trim())
    .filter((line) => line !== '');
  if (lines.length > 0) return [...new Set(lines)];
  const author = typeof manifest.author === 'string' ? manifest.author : manifest.author?.name;
  return [author ?? `the ${manifest.name} authors`];
}

// A DEP-5 multi-line value: every line indented, blank lines as " .".
function block(text) {
  return text
    .trim()
    .split('\n')
    .map((line) => (line.trim() === '' ? ' .' : ` ${line.trimEnd()}`))
    .join('\n');
}

function* packages(dir) {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir).sort()) {
    if (entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (entry.startsWith('@')) {
      yield* packages(path);
      continue;
    }
    if (!existsSync(join(path, 'package.json'))) continue;
    yield path;
    yield* packages(join(path, 'node_modules'));
  }
}

const own = JSON.parse(readFileSync(join(libDir, 'package.json'), 'utf8'));
const stanzas = [
  [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    'Upstream-Name: knocktail',
    `Upstream-Contact: ${own.author ?? 'knocktail developers'}`,
    'Source: the npm package knocktail (built by scripts/build-deb.sh)',
  ].join('\n'),
  ['Files: *', 'Copyright: 2026 knocktail developers', 'License: Expat'].join('\n'),
];
const used = new Set(['Expat']);
for (const path of packages(join(libDir, 'node_modules'))) {
  const manifest = JSON.parse(readFileSync(join(path, 'package.json'), 'utf8'));
  const spdx = typeof manifest.license === 'string' ? manifest.license : 'UNKNOWN';
  const name = DEBIAN_NAME[spdx];
  if (name === undefined) {
    process.stderr.write(
      `deb-copyright: ${manifest.name} has license ${spdx}, which this script does not know; add it to DEBIAN_NAME\n`,
    );
    process.exit(1);
  }
  const text = licenseFile(path);
  const relative = path.slice(libDir.length).replace(/^\/+/, '');
  const lines = [`Files: ${prefix}/${relative}/*`, `Copyright: ${copyrightLines(text, manifest).join('\n ')}`];
  if (STANDALONE.has(name)) {
    lines.push(`License: ${name}`);
    used.add(name);
  } else {
    if (text === undefined) {
      process.stderr.write(`deb-copyright: ${manifest.name} (${spdx}) ships no license file to quote\n`);
      process.exit(1);
    }
    lines.push(`License: ${name}`, block(text));
  }
  stanzas.push(lines.join('\n'));
}

const mit = readFileSync(new URL('../LICENSE', import.meta.url), 'utf8')
  .split('\n')
  .slice(4)
  .join('\n');
stanzas.push(`License: Expat\n${block(mit)}`);
if (used.has('Apache-2.0')) {
  stanzas.push(
    [
      'License: Apache-2.0',
      ' Licensed under the Apache License, Version 2.0 (the "License"); you may not use',
      ' this file except in compliance with the License.',
      ' .',
      ' On Debian systems, the full text of the Apache License, Version 2.0 is in',
      ' /usr/share/common-licenses/Apache-2.0.',
    ].join('\n'),
  );
}
process.stdout.write(`${stanzas.join('\n\n')}\n`);
