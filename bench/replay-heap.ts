// `node --expose-gc dist/bench/replay-heap.js CONFIG FILE`: replay in this process, then print
// the heap still in use after a full GC (MiB), to show that what replay keeps does not grow
// with the file (peak RSS also counts garbage V8 has not returned yet).
import { loadConfig } from '../src/config/load-config.js';
import { runReplay } from '../src/app/replay.js';
import { readLogFiles } from '../src/source/file-reader.js';
import { findReferenceTime } from '../src/source/log-reference.js';

const [configPath, path] = process.argv.slice(2);
if (!configPath || !path) throw new Error('usage: replay-heap CONFIG FILE');
const config = await loadConfig(configPath);
const result = await runReplay({
  config,
  source: readLogFiles([path]),
  bootTime: 0,
  referenceTime: (await findReferenceTime([path])) ?? 0,
});
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
gc();
gc();
process.stdout.write(
  `${JSON.stringify({ heapMiB: process.memoryUsage().heapUsed / 2 ** 20, opens: result.counters.opens, openAtEnd: result.openAtEnd.length })}\n`,
);
