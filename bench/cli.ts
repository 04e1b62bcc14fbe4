// CLI start-up: wall time of whole `knocktail` processes (the built dist/ CLI), measured the way
// hyperfine does: warm-up runs, then the median (and spread) of N runs, beside `node -e 0`.
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { BenchFunction } from './section.js';

interface Case {
  readonly name: string;
  readonly argv: readonly string[];
  /** Exit status the command must end with, so a failing command is never timed as a fast one. */
  readonly status: number;
}

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
/** The bar: each command within this factor of a bare `node -e 0`. */
const TARGET_RATIO = 1.5;

function timeRun(argv: readonly string[], expected: number): number {
  const started = performance.now();
  const run = spawnSync(process.execPath, argv, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  const ms = performance.now() - started;
  if (run.status !== expected)
    throw new Error(
      `node ${argv.join(' ')} exited ${run.status ?? run.signal}, expected ${expected}: ${run.stderr.toString()}`,
    );
  return ms;
}

// Runs the cases interleaved (one run of each per round), so a slow moment of the machine
// hits every case alike instead of one case's whole series.
function measure(cases: readonly Case[], runs: number, warmup: number): Map<string, number[]> {
  const times = new Map(cases.map((item) => [item.name, [] as number[]]));
  for (let round = 0; round < warmup + runs; round++) {
    for (const item of cases) {
      const ms = timeRun(item.argv, item.status);
      if (round >= warmup) times.get(item.name)!.push(ms);
    }
  }
  return times;
}

export const bench: BenchFunction = async ({ quick, workDir }) => {
  const dir = join(workDir, 'cli');
  await mkdir(dir, { recursive: true });
  const config = join(dir, 'config.json');
  // status with no daemon: the config names a state directory where no control socket listens.
  await writeFile(
    config,
    JSON.stringify({
      logFile: join(dir, 'knock.log'),
      stateDir: join(dir, 'state'),
      auditLog: join(dir, 'audit.log'),
      firewall: { backend: 'dry-run' },
      doors: [
        {
          name: 'ssh',
          sequence: ['tcp:7000', 'udp:8000', 'tcp:9000'],
          timeout: '10s',
          open: ['tcp:22'],
          openFor: '30s',
        },
      ],
    }),
  );
  const cases: Case[] = [
    { name: 'node -e 0', argv: ['-e', '0'], status: 0 },
    { name: 'knocktail --version', argv: [CLI, '--version'], status: 0 },
    { name: 'knocktail knock --help', argv: [CLI, 'knock', '--help'], status: 0 },
    { name: 'knocktail status (no daemon)', argv: [CLI, 'status', '-c', config], status: 0 },
    { name: 'knocktail check-config', argv: [CLI, 'check-config', '-c', config], status: 0 },
  ];
  const runs = quick ? 10 : 40;
  const times = measure(cases, runs, quick ? 2 : 5);
  const baseline = median(times.get('node -e 0')!);
  const rows = cases.map((item) => {
    const sorted = [...times.get(item.name)!].sort((a, b) => a - b);
    const med = median(sorted);
    return {
      command: item.name,
      runs: sorted.length,
      'median ms': med,
      'min ms': sorted[0]!,
      'p90 ms': sorted[Math.min(sorted.length - 1, Math.ceil(0.9 * sorted.length) - 1)]!,
      'vs node -e 0': med / baseline,
      [`≤ ${TARGET_RATIO}×`]: item.name === 'node -e 0' ? '' : med / baseline <= TARGET_RATIO ? 'yes' : 'no',
    };
  });
  return {
    name: 'cli',
    rows,
    notes: [
      `${runs} runs per command after warm-up, interleaved; wall time of the whole process (spawn to exit), built CLI ${CLI} (the esbuild entry of scripts/bundle-cli.ts, what the package's bin runs)`,
      'status: no daemon runs, so it reads the config and the state file; check-config: loads and validates the config',
    ],
  };
};

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
