import { randomUUID } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import type { Metrics } from './metrics.js';

// For node_exporter's textfile collector: write beside the target, then rename, so the
// collector never reads half a file. The name must end in .prom for the collector.
export async function writeTextfile(metrics: Metrics, path: string): Promise<void> {
  const temporary = `${path}.${randomUUID()}.tmp`;
  try {
    await writeFile(temporary, await metrics.text(), { mode: 0o644 });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
