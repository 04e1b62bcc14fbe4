// `npm run fuzz [-- --lines N] [-- --seed S]`: a million hostile lines through the daemon's
// own replay pipeline (bench/fuzz-harness.ts). Prints a table, writes bench/out/fuzz.json and
// exits 1 on a crash, an open from a line that is no genuine INPUT line for this host, or a
// line not counted in exactly one counter. A script, not a test: `npm test` runs a smaller
// fast-check property over the same generators (__tests__/fuzz/fuzz.property.test.ts).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CATEGORIES, runFuzz } from './fuzz-harness.js';

const { values } = parseArgs({
  options: { lines: { type: 'string', default: '1000000' }, seed: { type: 'string', default: '20261201' } },
});
const lines = Number(values.lines);
const seed = Number(values.seed);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const workDir = await mkdtemp(join(tmpdir(), 'knocktail-fuzz-'));
try {
  const report = await runFuzz({ lines, seed, workDir, fixturesDir: join(root, '__tests__', 'fixtures') });
  const rows = Object.entries(report.byOrigin)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([origin, tally]) => [origin, tally.lines, ...CATEGORIES.map((category) => tally[category])]);
  const total = [
    'total',
    report.lines,
    ...CATEGORIES.map((category) => rows.reduce((sum, row) => sum + Number(row[CATEGORIES.indexOf(category) + 2]), 0)),
  ];
  const table = [['origin', 'lines', ...CATEGORIES], ...rows, total].map((row) =>
    row.map((cell) => (typeof cell === 'number' ? cell.toLocaleString('en-US') : cell)),
  );
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => String(row[i]).length)));
  process.stdout.write(
    `\n## fuzz: ${lines.toLocaleString('en-US')} hostile lines, seed ${seed}, through runReplay (file reader, parser, tracker, grants, dry-run firewall)\n`,
  );
  for (const [index, row] of table.entries()) {
    process.stdout.write(`| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |\n`);
    if (index === 0) process.stdout.write(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|\n`);
  }
  const p = report.pipeline;
  const checks: [string, boolean, string][] = [
    [
      'crashes',
      report.crashed === undefined && p.errors === 0,
      report.crashed ?? `${p.errors} lines whose processing threw`,
    ],
    [
      'opens from lines that are no genuine INPUT line for this host',
      report.unjustifiedOpens.length === 0,
      `${report.unjustifiedOpens.length} (${report.unjustifiedOpens.slice(0, 3).join(', ')})`,
    ],
    [
      'packets the oracle does not take for genuine',
      report.acceptedNotGenuine.length === 0,
      `${report.acceptedNotGenuine.length}`,
    ],
    [
      'every line in exactly one counter (pipeline == per-line classification)',
      report.countersConsistent,
      JSON.stringify(p),
    ],
  ];
  process.stdout.write(
    `\npipeline counters: lines ${p.lines}, packets ${p.packets}, malformed ${p.malformed}, ignored ${p.ignored}, foreign ${p.foreign}, oversized ${p.oversized}, errors ${p.errors}, opens ${p.opens} (${report.genuineOpens} genuine knockers, ${report.hostileGenuineOpens} hostile sources whose mutated line stayed a genuine INPUT line)\n`,
  );
  for (const [name, ok, detail] of checks)
    process.stdout.write(`- ${ok ? 'ok  ' : 'FAIL'} ${name}${ok ? '' : `: ${detail}`}\n`);
  for (const line of report.acceptedNotGenuine.slice(0, 5))
    process.stdout.write(`  accepted: ${JSON.stringify(line.slice(0, 300))}\n`);
  process.stdout.write(`- ${report.seconds.toFixed(1)} s\n`);
  const outDir = join(root, 'bench', 'out');
  await mkdir(outDir, { recursive: true });
  await writeFile(
    join(outDir, 'fuzz.json'),
    `${JSON.stringify({ when: new Date().toISOString(), seed, ...report, checks: checks.map(([name, ok]) => ({ name, ok })) }, null, 2)}\n`,
  );
  process.stdout.write(`written to ${join('bench', 'out', 'fuzz.json')}\n`);
  process.exitCode = checks.every(([, ok]) => ok) ? 0 : 1;
} finally {
  await rm(workDir, { recursive: true, force: true });
}
