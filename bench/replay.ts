// Replay throughput end to end: the daemon's pipeline (scan, parse, knock, grant, dry-run
// firewall) over a generated 1,000,000-line kernel log, next to `grep -c` on the same file.
import { execFileSync } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config/load-config.js';
import { runReplay } from '../src/replay.js';
import { readLogFiles } from '../src/source/file-reader.js';
import { generateKernelLog } from './parse.js';
import type { BenchFunction } from './section.js';

export const bench: BenchFunction = async ({ quick, workDir }) => {
  const lines = quick ? 100_000 : 1_000_000;
  const path = join(workDir, `kernel-${lines}.log`);
  await generateKernelLog(path, lines);
  const size = (await stat(path)).size;
  // The generated knocks go to 198.51.100.1 and 2001:db8::1: this (benchmarked) host's addresses.
  const config = { ...(await loadConfig(join(process.cwd(), 'examples', 'config.json'))), localAddresses: ['198.51.100.1', '2001:db8::1'] };
  const rows: Record<string, string | number>[] = [];
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  // A file a tenth the size first: peak RSS must not grow with the input.
  const smallPath = join(workDir, `kernel-${lines / 10}.log`);
  await generateKernelLog(smallPath, lines / 10);
  const inputs = [
    { label: `replay ${(lines / 10).toLocaleString('en-US')} lines`, path: smallPath },
    ...[1, 2, 3].map((run) => ({ label: `replay #${run}`, path })),
  ];
  for (const input of inputs) {
    const started = performance.now();
    const result = await runReplay({ config, source: readLogFiles([input.path]), bootTime: 0, referenceTime: Date.now() });
    const seconds = (performance.now() - started) / 1000;
    rows.push({ run: input.label, lines: result.counters.lines, packets: result.counters.packets, opens: result.counters.opens, seconds, 'lines/s': Math.round(result.counters.lines / seconds), 'peak RSS MiB': Math.round(peakRss / 2 ** 20) });
  }
  clearInterval(sampler);
  const grepStarted = performance.now();
  const count = execFileSync('grep', ['-c', 'knocktail: ', path], { encoding: 'utf8' }).trim();
  const grepSeconds = (performance.now() - grepStarted) / 1000;
  rows.push({ run: 'grep -c (reference)', lines, packets: Number(count), opens: '', seconds: grepSeconds, 'lines/s': Math.round(lines / grepSeconds), 'peak RSS MiB': '' });
  return {
    name: 'replay (end to end, dry-run firewall)',
    rows,
    notes: [`input ${lines.toLocaleString('en-US')} lines, ${(size / 2 ** 20).toFixed(1)} MiB (10 % knock lines); run #1 includes JIT warm-up; target ≥ 2,000,000 lines/s; peak RSS is cumulative over the rows`],
  };
};
