import { readFile } from 'node:fs/promises';

// The daemon's stage trace (`knocktail run` with KNOCKTAIL_TRACE=FILE, src/trace/stage-trace.ts)
// read back by the live and SPA benches: `stage ns` lines, CLOCK_MONOTONIC.
export interface Mark {
  readonly stage: string;
  readonly at: bigint;
}

/** The marks in time order (none when the file is missing); `rename` folds stage names together. */
export async function readTrace(path: string, rename: (stage: string) => string = (stage) => stage): Promise<Mark[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [stage = '', at = '0'] = line.split(' ');
      return { stage: rename(stage), at: BigInt(at) };
    })
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}
