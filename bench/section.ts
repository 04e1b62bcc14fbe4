// One benchmark section: a named table of rows (numbers and short strings) plus notes.
// bench/run.ts prints every section as a table and writes them all to bench/out/results.json.
export interface BenchSection {
  readonly name: string;
  readonly rows: readonly Record<string, string | number>[];
  /** Further tables printed after the main one (e.g. a per-stage breakdown). */
  readonly tables?: readonly { readonly title: string; readonly rows: readonly Record<string, string | number>[] }[];
  readonly notes?: readonly string[];
}

export interface BenchOptions {
  /** Smaller inputs for a smoke run (`npm run bench -- --quick`). */
  readonly quick: boolean;
  /** Scratch directory for generated inputs. */
  readonly workDir: string;
}

export type BenchFunction = (options: BenchOptions) => Promise<BenchSection>;

/** Adds a "`name` ÷ this (median)" column: how many times faster each row is than `baseline`. */
export function addMedianRatio(
  rows: Record<string, string | number>[],
  baseline: Record<string, string | number>,
  name: string,
): void {
  const base = Number(baseline['median ms']);
  for (const row of rows) row[`${name} ÷ this (median)`] = Number((base / Number(row['median ms'])).toFixed(1));
}
