// `npm run bench [-- --quick] [-- --only replay,firewall]`: every benchmark section, printed
// as tables and written to bench/out/results.json. Numbers live here, never in tests.
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchFunction, BenchSection } from './section.js';

const SECTIONS: readonly { name: string; module: string; needsRoot: boolean }[] = [
  { name: 'parse', module: './parse.js', needsRoot: false },
  { name: 'knock', module: './knock.js', needsRoot: false },
  { name: 'replay', module: './replay.js', needsRoot: false },
  { name: 'follower', module: './follower.js', needsRoot: false },
  { name: 'audit', module: './audit.js', needsRoot: false },
  { name: 'cli', module: './cli.js', needsRoot: false },
  { name: 'scan', module: './scan.js', needsRoot: false },
  { name: 'firewall', module: './firewall.js', needsRoot: true },
  { name: 'live', module: './live.js', needsRoot: true },
  { name: 'fleet', module: './fleet.js', needsRoot: true },
  { name: 'flood', module: './flood.js', needsRoot: true },
  { name: 'spa', module: './spa.js', needsRoot: true },
];

function printSection(section: BenchSection): void {
  process.stdout.write(`\n## ${section.name}\n`);
  printTable(section.rows);
  for (const table of section.tables ?? []) {
    process.stdout.write(`\n${table.title}\n`);
    printTable(table.rows);
  }
  for (const note of section.notes ?? []) process.stdout.write(`- ${note}\n`);
}

function printTable(rows: BenchSection['rows']): void {
  if (rows.length > 0) {
    const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
    const cell = (value: string | number | undefined): string =>
      typeof value === 'number'
        ? Number.isInteger(value)
          ? value.toLocaleString('en-US')
          : value.toFixed(2)
        : (value ?? '');
    const table = [columns, ...rows.map((row) => columns.map((column) => cell(row[column])))];
    const widths = columns.map((_, i) => Math.max(...table.map((line) => (line[i] ?? '').length)));
    for (const [index, line] of table.entries()) {
      process.stdout.write(`| ${line.map((text, i) => text.padEnd(widths[i] ?? 0)).join(' | ')} |\n`);
      if (index === 0) process.stdout.write(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|\n`);
    }
  }
}

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    child: { type: 'boolean', default: false },
  },
});
const only = values.only ? new Set(values.only.split(',')) : undefined;
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const outDir = join(root, 'bench', 'out');
const workDir = join(outDir, 'work');
await mkdir(workDir, { recursive: true });
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

// Child mode: run one section and leave its result for the parent.
async function runSection(section: (typeof SECTIONS)[number]): Promise<void> {
  const { bench } = (await import(section.module)) as { bench: BenchFunction };
  const result = await bench({ quick: values.quick, workDir });
  printSection(result);
  await writeFile(join(outDir, `section-${section.name}.json`), JSON.stringify(result));
}

if (values.child) {
  const section = SECTIONS.find((candidate) => candidate.name === values.only);
  if (!section) throw new Error(`unknown bench section ${values.only}`);
  await runSection(section);
} else {
  // Parent: every section in a fresh process, so one section's heap never shows in another's RSS.
  const results: BenchSection[] = [];
  process.stdout.write(
    `knocktail bench — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB${values.quick ? ', quick' : ''}\n`,
  );
  for (const section of SECTIONS) {
    if (only && !only.has(section.name)) continue;
    if (section.needsRoot && !isRoot) {
      const skipped = { name: section.name, rows: [], notes: ['skipped: needs root (network namespaces)'] };
      results.push(skipped);
      printSection(skipped);
      continue;
    }
    const args = [
      fileURLToPath(import.meta.url),
      '--child',
      '--only',
      section.name,
      ...(values.quick ? ['--quick'] : []),
    ];
    const child = spawnSync(process.execPath, args, { stdio: 'inherit' });
    const result =
      child.status === 0
        ? (JSON.parse(await readFile(join(outDir, `section-${section.name}.json`), 'utf8')) as BenchSection)
        : undefined;
    if (result) {
      results.push(result);
    } else {
      const failed = { name: section.name, rows: [], notes: [`failed: exit ${child.status ?? child.signal}`] };
      results.push(failed);
      printSection(failed);
      process.exitCode = 1;
    }
  }
  await writeFile(
    join(outDir, 'results.json'),
    `${JSON.stringify({ at: new Date().toISOString(), node: process.version, quick: values.quick, sections: results }, null, 2)}\n`,
  );
  process.stdout.write(`\nwrote ${join(outDir, 'results.json')}\n`);
}
