import { open, readFile } from 'node:fs/promises';
import { uptime } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { formatAuditLine } from '../audit/audit-line.js';
import type { AuditRecord } from '../audit/record.js';
import { loadConfig } from '../config/load-config.js';
import { osReason } from '../config/os-reason.js';
import type { KnockEvent } from '../knock/events.js';
import { KnocktailError } from '../model/errors.js';
import { runReplay } from '../app/replay.js';
import { formatArgv } from '../firewall/shell-quote.js';
import type { SimulatedCommand } from '../firewall/simulated-firewall.js';
import { readLogFiles } from '../source/file-reader.js';
import { findReferenceTime } from '../source/log-reference.js';
import { configPath, writeLine } from './context.js';
import type { CommandAction } from './command-table.js';
import { anchorBootTime, isUptimeTimed, orderInputs, placeOnBoot, prefixHint, surveyInput } from './replay-inputs.js';
import { LineLocator } from './line-locator.js';
import {
  DoorTallies,
  LineSamples,
  knockEventJson,
  quoteLine,
  renderReport,
  replayJson,
  summaryJson,
  type LocatedLine,
} from './replay-report.js';

interface ReplayFlags {
  config?: string;
  json?: boolean;
  verbose?: boolean;
  audit?: boolean;
  auditFile?: string;
  prefix?: string;
  commands?: boolean;
  bootTime?: string;
  anyDst?: boolean;
  nat?: string;
}

// The human report and --audit keep the first records only, so memory stays flat in the log's length (--json streams them all).
const REPORT_RECORDS = 1000;
const REPLAY_CHUNK_BYTES = 4 << 20;

// `knocktail replay FILE...`: dry-run the daemon's pipeline over recorded logs.
export const replay: CommandAction<[string[]], ReplayFlags> = async (ctx, [files], flags) => {
  const path = configPath(ctx, flags.config);
  if (flags.audit && flags.json)
    throw new KnocktailError(
      'USAGE',
      'Expected --audit without --json: --audit prints the audit trail after the human report; with --json write it with --audit-file FILE',
    );
  if (flags.prefix === '')
    throw new KnocktailError(
      'USAGE',
      'Expected --prefix to be the log prefix of the lines, like "knocktail: ", got an empty string',
    );
  const loaded = await loadConfig(path);
  const config = flags.prefix === undefined ? loaded : { ...loaded, logPrefix: flags.prefix };
  const given = flags.bootTime === undefined ? undefined : Date.parse(flags.bootTime);
  if (given !== undefined && Number.isNaN(given))
    throw new KnocktailError(
      'USAGE',
      `Expected --boot-time to be an ISO time like "2026-11-24T08:00:00Z", got "${flags.bootTime}"`,
    );
  const json = flags.json === true;
  const verbose = flags.verbose === true;
  // Uptime-timed captures (/dev/kmsg, dmesg) are surveyed on boot time 0, then placed on
  // --boot-time or on their own records (anchorBootTime), never on this machine's boot.
  const surveyed = await Promise.all(files.map((file) => surveyInput(file, { prefix: config.logPrefix, bootTime: 0 })));
  const thisBoot = Date.now() - uptime() * 1000;
  const anchored = given === undefined ? anchorBootTime(surveyed) : undefined;
  const bootTime = given ?? anchored ?? thisBoot;
  // Said only when it matters: a capture from another boot or machine (this boot's would land within a minute of it).
  if (anchored !== undefined && Math.abs(anchored - thisBoot) > 60_000) {
    writeLine(
      ctx.stderr,
      `knocktail: kernel-uptime timestamps placed on the capture's own records (its last record at the file's modification time, boot at ${new Date(anchored).toISOString()}); pass --boot-time to set it`,
    );
  }
  const placed = surveyed.map((survey) => placeOnBoot(survey, bootTime));
  const inputs = orderInputs(placed);
  for (const warning of inputs.warnings) writeLine(ctx.stderr, `knocktail: ${warning}`);
  const hint = prefixHint(inputs.files, config.logPrefix);
  if (hint) writeLine(ctx.stderr, `knocktail: ${hint}`);
  const auditFile = flags.auditFile === undefined ? undefined : await openAuditFile(resolve(ctx.cwd, flags.auditFile));
  const ordered = inputs.files.map((input) => input.path);
  const tallies = new DoorTallies(config.doors.map((door) => door.name));
  const records: AuditRecord[] = [];
  let dropped = 0;
  let droppedAll = 0;
  const progress = createProgress(ctx.stderr, !json);
  // --verbose: every bad and stale line with its file and line number (--json streams them all, the report lists the first ones).
  const locator = verbose ? new LineLocator() : undefined;
  const badLines = new LineSamples();
  const staleLines = new LineSamples();
  const knockEvents = new LineSamples<KnockEvent>();
  const note = (samples: LineSamples, event: 'bad-line' | 'stale', text: string, problem?: string): void => {
    const { file, line } = locator?.locate(text) ?? { file: '', line: undefined };
    if (json)
      writeLine(
        ctx.stdout,
        JSON.stringify({ event, file, line: line ?? null, ...(problem === undefined ? {} : { problem }), text }),
      );
    else
      samples.add({
        file,
        line,
        note: problem === undefined ? quoteLine(text) : `${problem}: ${quoteLine(text)}`,
      } satisfies LocatedLine);
  };
  const started = performance.now();
  const result = await runReplay({
    config,
    // Large reads into two reused buffers: the pipeline is done with a chunk before it asks for the next.
    source: readLogFiles(ordered, {
      chunkSize: REPLAY_CHUNK_BYTES,
      reuseBuffers: true,
      onProgress: progress.update,
      ...(locator
        ? { onChunk: (file: string, chunk: Buffer, dropped: number) => locator.chunkRead(file, chunk, dropped) }
        : {}),
    }),
    bootTime,
    // From the log (first year-bearing timestamp, the files' mtime, an uptime capture's last record), never the wall clock.
    referenceTime: Math.max(
      (await findReferenceTime(files)) ?? 0,
      ...placed.filter(isUptimeTimed).map((survey) => survey.last ?? 0),
    ),
    ...(flags.commands
      ? {
          onCommand: (command: SimulatedCommand, at: number) =>
            writeLine(ctx.stdout, json ? commandJson(command, at) : commandText(command, at)),
        }
      : {}),
    anyDestination: flags.anyDst === true,
    ...(flags.nat === undefined ? {} : { nat: await readFile(resolve(ctx.cwd, flags.nat), 'utf8') }),
    onRecord: (record) => {
      tallies.addRecord(record);
      auditFile?.write(formatAuditLine(record, config.firewall.backend));
      if (!json && record.event !== 'firewall-error' && record.event !== 'firewall-repair') {
        if (records.length < REPORT_RECORDS) records.push(record);
        else {
          droppedAll += 1;
          if (record.event !== 'reject' || verbose) dropped += 1;
        }
      }
      if (json) {
        const line = replayJson(record, verbose);
        if (line) writeLine(ctx.stdout, line);
      }
    },
    onKnockEvent: (event) => {
      tallies.addEvent(event);
      if (!verbose || (event.kind !== 'advanced' && event.kind !== 'reset')) return;
      if (!json) knockEvents.add(event);
      else {
        const line = knockEventJson(event);
        if (line) writeLine(ctx.stdout, line);
      }
    },
    ...(verbose
      ? {
          onBadLine: (line: string, problem: string) => note(badLines, 'bad-line', line, problem),
          onStaleLine: (line: string) => note(staleLines, 'stale', line),
        }
      : {}),
  });
  progress.done();
  await auditFile?.close();
  if (json) {
    writeLine(ctx.stdout, summaryJson(result.counters, result.localAddresses));
  } else {
    const grantRecords = records.filter((record) => record.event !== 'reject' || verbose);
    writeLine(
      ctx.stdout,
      renderReport({
        files: inputs.files,
        configPath: path,
        counters: result.counters,
        localAddresses: result.localAddresses,
        doors: tallies,
        grantRecords,
        openAtEnd: result.openAtEnd,
        tracker: result.tracker,
        droppedRecords: dropped,
        ...(verbose ? { badLines, staleLines, knockEvents } : {}),
        seconds: (performance.now() - started) / 1000,
      }),
    );
    if (flags.audit) {
      writeLine(ctx.stdout);
      const where = auditFile
        ? `written to ${resolve(ctx.cwd, flags.auditFile!)}`
        : `not written: a live run appends it to ${config.auditLog}; --audit-file FILE writes it for \`knocktail audit --file FILE\``;
      writeLine(ctx.stdout, `Audit trail (${where}):`);
      for (const record of records) ctx.stdout.write(formatAuditLine(record, config.firewall.backend));
      if (droppedAll > 0)
        writeLine(
          ctx.stdout,
          `… and ${droppedAll.toLocaleString('en-US')} more records (a live run and --audit-file write them all)`,
        );
    }
  }
  return 0;
};

// --audit-file: the records as the daemon writes them, every one, in log order. Never overwrites.
async function openAuditFile(path: string): Promise<{ write: (line: string) => void; close: () => Promise<void> }> {
  const handle = await open(path, 'wx', 0o640).catch((error: unknown) => {
    const hint =
      (error as NodeJS.ErrnoException).code === 'EEXIST' ? ' (it exists; replay never overwrites an audit file)' : '';
    throw new KnocktailError('STATE_IO', `cannot write --audit-file ${path}: ${osReason(error)}${hint}`, {
      cause: error,
    });
  });
  const stream = handle.createWriteStream();
  return {
    write: (line) => void stream.write(line),
    close: () => new Promise((done, fail) => stream.end((error?: Error | null) => (error ? fail(error) : done()))),
  };
}

// Commands run before the first packet (the guard's setup) have no log time yet: shown as "start".
function commandText(command: SimulatedCommand, at: number): string {
  const time = at === 0 ? 'start'.padEnd(23) : new Date(at).toISOString().replace('T', ' ').replace('Z', '');
  return `${time}  ${formatArgv(command.argv)}${command.input === undefined ? '' : ` <<< ${JSON.stringify(command.input.replace(/\n$/, ''))}`}`;
}

function commandJson(command: SimulatedCommand, at: number): string {
  return JSON.stringify({
    event: 'command',
    at: at === 0 ? null : new Date(at).toISOString(),
    argv: command.argv,
    ...(command.input === undefined ? {} : { input: command.input }),
  });
}

// A one-line progress indicator on a TTY for inputs large enough to wait for.
function createProgress(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  enabled: boolean,
): { update: (read: number, total: number) => void; done: () => void } {
  let shown = false;
  let last = 0;
  return {
    update: (read, total) => {
      if (!enabled || !stream.isTTY || total < 50 * 1024 * 1024) return;
      const now = Date.now();
      if (now - last < 200) return;
      last = now;
      shown = true;
      stream.write(
        `\rreplaying… ${((100 * read) / total).toFixed(0)} % (${(read / 1048576).toFixed(0)} of ${(total / 1048576).toFixed(0)} MiB)`,
      );
    },
    done: () => {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}
