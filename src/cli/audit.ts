import { buildAuditFilter, type AuditFilter } from '../audit/audit-filter.js';
import { listAuditFiles } from '../audit/audit-files.js';
import { followAudit } from '../audit/audit-follow.js';
import { scanAudit, sortGrantRows } from '../audit/audit-query.js';
import { createReadStats, type ReadStats } from '../audit/audit-records.js';
import { SummaryBuilder } from '../audit/audit-summary.js';
import { formatRecordLine, grantTableLines, recordTableLines, renderSummary } from '../audit/audit-table.js';
import { settleOpenRow, type GrantRow } from '../audit/grant-pairing.js';
import type { AuditRecord } from '../audit/record.js';
import { loadConfig } from '../config/load-config.js';
import { KnocktailError } from '../model/errors.js';
import { readLogFiles } from '../source/file-reader.js';
import { readStream } from '../source/stream-source.js';
import { configPath, useColor, writeLine, type CliContext } from './context.js';
import type { CommandAction } from './command-table.js';
import { withFleetAudit } from './fleet.js';
import type { ChunkSource } from '../source/chunk-source.js';

interface AuditFlags {
  since?: string;
  until?: string;
  src?: string;
  door?: string;
  event?: string;
  json?: boolean;
  follow?: boolean;
  summary?: boolean;
  config?: string;
  file?: string;
  fleet?: boolean;
}

// `knocktail audit`: who opened what, when, from where, and why it closed.
export const audit: CommandAction<[], AuditFlags> = async (ctx, _args, flags) => {
  const now = Date.now();
  const filter = buildAuditFilter(flags, now);
  if (flags.follow && flags.summary)
    throw new KnocktailError('USAGE', 'Expected either --follow or --summary, got both: a summary needs an end');
  if (flags.fleet) {
    if (flags.follow || flags.file)
      throw new KnocktailError(
        'USAGE',
        `Expected --fleet without ${flags.follow ? '--follow' : '--file'}: the fleet stream is read from NATS, once`,
      );
    const config = await loadConfig(configPath(ctx, flags.config));
    const stats = createReadStats();
    const unverified = await withFleetAudit(config, (source) => runQuery(ctx, source, filter, flags, stats, now));
    if (unverified > 0)
      writeLine(
        ctx.stderr,
        `knocktail: skipped ${unverified} fleet record${unverified === 1 ? '' : 's'} that failed verification with the group key`,
      );
    return 0;
  }
  const path = flags.file ?? (await loadConfig(configPath(ctx, flags.config))).auditLog;
  const stats = createReadStats();
  if (path === '-') {
    if (flags.follow)
      throw new KnocktailError(
        'USAGE',
        'Expected --follow with a file: standard input (--file -) is read once, to its end',
      );
    if (!ctx.stdin) throw new KnocktailError('USAGE', 'Expected standard input for --file -, got none');
    await runQuery(ctx, readStream(ctx.stdin), filter, flags, stats, now);
  } else if (flags.follow) {
    await runFollow(ctx, path, filter, flags, stats);
  } else {
    const files = await listAuditFiles(path);
    if (files.length === 0)
      throw new KnocktailError('NOT_FOUND', `Expected an audit log at ${path} (or rotated copies of it), found none`);
    await runQuery(ctx, readLogFiles(files), filter, flags, stats, now);
  }
  if (stats.malformed > 0)
    writeLine(
      ctx.stderr,
      `knocktail: skipped ${stats.malformed} malformed line${stats.malformed === 1 ? '' : 's'} in ${path === '-' ? 'standard input' : path}`,
    );
  return 0;
};

async function runQuery(
  ctx: CliContext,
  source: ChunkSource,
  filter: AuditFilter,
  flags: AuditFlags,
  stats: ReadStats,
  now: number,
): Promise<void> {
  const color = useColor(ctx);
  const summary = flags.summary ? new SummaryBuilder(now) : undefined;
  const records: AuditRecord[] = [];
  const rows: GrantRow[] = [];
  const recordTable = flags.event !== undefined && !flags.json;
  const json = flags.json === true;
  const out = createOutput(ctx);
  await scanAudit(
    source,
    filter,
    stats,
    {
      record: (record, line) => {
        if (summary) summary.addRecord(record);
        else if (json) out.line(line);
        else if (recordTable) records.push(record);
      },
      ...(summary || (!json && !recordTable)
        ? {
            grant: (row: GrantRow) =>
              summary ? summary.addRow(settleOpenRow(row, now)) : rows.push(settleOpenRow(row, now)),
          }
        : {}),
      chunkDone: () => out.flush(),
    },
    out.signal,
  );
  await out.flush();
  if (summary) {
    const result = summary.result({ maxSources: 20, maxDays: 31 });
    ctx.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : renderSummary(result, { color }));
  } else if (!flags.json) {
    const lines = recordTable
      ? recordTableLines(records, { color })
      : grantTableLines(sortGrantRows(rows), { color, now });
    for (const line of lines) {
      out.line(line);
      if (out.size() >= 1 << 16) await out.flush();
    }
    await out.flush();
  }
}

async function runFollow(
  ctx: CliContext,
  path: string,
  filter: AuditFilter,
  flags: AuditFlags,
  stats: ReadStats,
): Promise<void> {
  const color = useColor(ctx);
  const stop = new AbortController();
  ctx.signals.onStop(() => stop.abort());
  await followAudit({
    path,
    filter,
    stats,
    signal: stop.signal,
    history: flags.since !== undefined,
    onRecord: (record, line) => writeLine(ctx.stdout, flags.json ? line : formatRecordLine(record, color)),
    follower: {
      onEvent: (event) => {
        if (event.type === 'error') writeLine(ctx.stderr, `knocktail: ${event.error.message}`);
      },
    },
  });
}

// Lines gathered per chunk and written in one go, waiting for drain (a pager reads slowly);
// a reader that went away (EPIPE from `| head`) ends the scan quietly.
function createOutput(ctx: CliContext): {
  line(text: string): void;
  size(): number;
  flush(): Promise<void>;
  signal: AbortSignal;
} {
  const gone = new AbortController();
  ctx.stdout.once('error', () => gone.abort());
  let pending = '';
  return {
    signal: gone.signal,
    line(text) {
      pending += `${text}\n`;
    },
    size: () => pending.length,
    async flush() {
      if (pending === '' || gone.signal.aborted) return;
      const text = pending;
      pending = '';
      if (!ctx.stdout.write(text)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            ctx.stdout.off('drain', done);
            gone.signal.removeEventListener('abort', done);
            resolve();
          };
          ctx.stdout.on('drain', done);
          gone.signal.addEventListener('abort', done);
        });
      }
    },
  };
}
