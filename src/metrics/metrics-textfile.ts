import { writeFileAtomic } from '../fs/atomic-write.js';
import type { Metrics } from './metrics.js';

// For node_exporter's textfile collector: written beside the target under a unique,
// exclusively created name, then renamed, so the collector never reads half a file. The
// name must end in .prom for the collector (the temp name ends in .tmp, which it skips).
export async function writeTextfile(metrics: Metrics, path: string): Promise<void> {
  await writeFileAtomic(path, await metrics.text(), { mode: 0o644 });
}
