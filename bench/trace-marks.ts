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

/** A path's step between two stages, as the benches' breakdown tables label it. */
export interface TraceStep<S extends string> {
  readonly label: string;
  readonly from: S;
  readonly to: S;
}

/**
 * One trial's stage times, ms after `sentAt`: of each of `stages`, its first mark after `sentAt`
 * and at or before `until` (the trial's end). A stage without a mark there is left out.
 */
export function stageTimesAfter<S extends string>(
  stages: readonly S[],
  marks: readonly Mark[],
  sentAt: bigint,
  until: bigint,
): Map<S, number> {
  const times = new Map<S, number>();
  for (const stage of stages) {
    const mark = marks.find((candidate) => candidate.stage === stage && candidate.at > sentAt && candidate.at <= until);
    if (mark) times.set(stage, Number(mark.at - sentAt) / 1e6);
  }
  return times;
}

/** A step's durations (ms) over the trials that reached both of its stages. */
export function stepDurations<S extends string>(trials: readonly Map<S, number>[], step: TraceStep<S>): number[] {
  return trials.flatMap((trial) => {
    const from = trial.get(step.from);
    const to = trial.get(step.to);
    return from === undefined || to === undefined ? [] : [to - from];
  });
}
