import { open, stat } from 'node:fs/promises';
import { osReason } from '../config/os-reason.js';
import { KnocktailError } from '../model/errors.js';
import { splitSyslogHeader } from '../parse/syslog-header.js';
import { readLogFiles } from '../source/file-reader.js';

// Replay inputs in the order they were written: `replay knocks.log*` expands newest first
// (knocks.log, knocks.log.1, knocks.log.2.gz), so each file is surveyed for its first and last
// timestamp and the header formats of its lines before the replay reads them in time order.
export interface InputSurvey {
  readonly path: string;
  /** Epoch ms of the first and last line with a readable timestamp; undefined when none has one. */
  readonly first: number | undefined;
  readonly last: number | undefined;
  /** Header formats seen in the first lines (TIMESTAMP_FORMATS keys), in order of appearance. */
  readonly formats: readonly TimestampFormat[];
  /** The text before `IN=` of the first lines' netfilter LOG messages (their log prefix), with how many carried it. */
  readonly prefixes: ReadonlyMap<string, number>;
  /** The file's modification time (epoch ms): when its last line was written, unless it was copied since. */
  readonly mtime?: number;
}

/** Whether every line the survey read is timed by kernel uptime (/dev/kmsg, dmesg): its times hang on a boot time. */
export function isUptimeTimed(survey: Pick<InputSurvey, 'formats'>): boolean {
  return survey.formats.length > 0 && survey.formats.every((format) => format === 'kmsg' || format === 'dmesg');
}

/**
 * The boot time that places uptime-timed captures (surveyed with boot time 0, so their `last`
 * is an uptime) on their own records: the latest-ending capture's last record at its file's
 * modification time. A capture from another boot or machine then replays in its own time,
 * whatever this machine's uptime; undefined when no input is uptime-timed.
 */
export function anchorBootTime(surveys: readonly InputSurvey[]): number | undefined {
  const anchors = surveys.flatMap((survey) =>
    isUptimeTimed(survey) && survey.last !== undefined && survey.mtime !== undefined
      ? [survey.mtime - survey.last]
      : [],
  );
  return anchors.length === 0 ? undefined : Math.max(...anchors);
}

/** The survey of an uptime-timed file surveyed with boot time 0, moved onto `bootTime`; other surveys as they are. */
export function placeOnBoot(survey: InputSurvey, bootTime: number): InputSurvey {
  if (!isUptimeTimed(survey)) return survey;
  return {
    ...survey,
    first: survey.first === undefined ? undefined : survey.first + bootTime,
    last: survey.last === undefined ? undefined : survey.last + bootTime,
  };
}

export type TimestampFormat = 'rfc3339' | 'traditional' | 'rfc5424' | 'rfc3164' | 'dmesg' | 'kmsg';

/** How the report names each format. */
export const TIMESTAMP_FORMATS: Readonly<Record<TimestampFormat, string>> = {
  rfc3339: 'RFC 3339 (RSYSLOG_FileFormat, journalctl -o short-iso)',
  traditional: 'traditional syslog (RSYSLOG_TraditionalFileFormat: no year, local time)',
  rfc5424: 'RFC 5424',
  rfc3164: 'RFC 3164 with <PRI>',
  dmesg: 'dmesg (seconds since boot)',
  kmsg: '/dev/kmsg (microseconds since boot)',
};

/** Lines sampled from the start of each file for the first timestamp and the formats. */
const HEAD_LINES = 2_000;
/** Bytes read from the end of a plain file for its last timestamp. */
const TAIL_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

// Which header a line has, by the same first-character dispatch as splitSyslogHeader
// (parse/syslog-header.ts); only asked of lines that function accepted.
export function timestampFormatOf(line: string): TimestampFormat {
  const first = line.charCodeAt(0);
  if (first === 60) return line.startsWith('1 ', line.indexOf('>') + 1) ? 'rfc5424' : 'rfc3164';
  if (first === 91) return 'dmesg';
  if (first >= 48 && first <= 57) return line.charCodeAt(4) === 45 ? 'rfc3339' : 'kmsg';
  return 'traditional';
}

interface SurveyContext {
  readonly prefix: string;
  readonly bootTime: number;
}

/** Surveys one file. Traditional timestamps get their year from the file's modification time. */
export async function surveyInput(path: string, ctx: SurveyContext): Promise<InputSurvey> {
  const info = await stat(path).catch((error: unknown) => {
    throw new KnocktailError('SOURCE_IO', `Expected a readable log file at ${path}, got: ${osReason(error)}`, {
      cause: error,
    });
  });
  const parse = { prefix: ctx.prefix, bootTime: ctx.bootTime, referenceTime: info.mtimeMs };
  const timeOf = (line: string): number | undefined => {
    const header = splitSyslogHeader(line, parse);
    return header && Number.isFinite(header.at) ? header.at : undefined;
  };
  let first: number | undefined;
  let last: number | undefined;
  const formats = new Set<TimestampFormat>();
  const prefixes = new Map<string, number>();
  let seen = 0;
  const gzip = await isGzip(path);
  for await (const chunk of readLogFiles([path]).chunks()) {
    // Only the lines looked at are decoded: the head's first lines, then the chunk's last timed one.
    let at = 0;
    for (; seen < HEAD_LINES && at < chunk.length; seen++) {
      const newline = chunk.indexOf(NEWLINE, at);
      const end = newline < 0 ? chunk.length : newline;
      const line = chunk.toString('utf8', at, end);
      at = end + 1;
      tallyPrefix(prefixes, line, parse);
      const time = timeOf(line);
      if (time === undefined) continue;
      first ??= time;
      last = time;
      formats.add(timestampFormatOf(line));
    }
    const end = lastTimeIn(chunk, at, timeOf);
    if (end !== undefined) last = end;
    // A plain file's end is read directly; a compressed one has to be read through.
    if (seen >= HEAD_LINES && !gzip) break;
  }
  if (seen >= HEAD_LINES && !gzip) last = (await tailTime(path, timeOf)) ?? last;
  return { path, first, last, formats: [...formats], prefixes, mtime: info.mtimeMs };
}

const LOG_FIELDS = /IN=\S*\s+OUT=/;
const MAX_PREFIXES = 20;

// A kernel line with netfilter LOG fields: whatever precedes IN= is the rule's --log-prefix.
function tallyPrefix(
  prefixes: Map<string, number>,
  line: string,
  parse: Parameters<typeof splitSyslogHeader>[1],
): void {
  const header = splitSyslogHeader(line, parse);
  if (!header?.kernel) return;
  const fields = line.indexOf('IN=', header.messageStart);
  if (fields < 0 || fields - header.messageStart > 64 || !LOG_FIELDS.test(line.slice(fields, fields + 40))) return;
  const prefix = line.slice(header.messageStart, fields);
  if (prefixes.has(prefix) || prefixes.size < MAX_PREFIXES) prefixes.set(prefix, (prefixes.get(prefix) ?? 0) + 1);
}

/**
 * A hint when the first lines of the inputs carry netfilter LOG messages, none of them with
 * `prefix`: the log was written by a rule with another --log-prefix, and every line would be ignored.
 */
export function prefixHint(surveys: readonly InputSurvey[], prefix: string): string | undefined {
  const seen = new Map<string, number>();
  for (const survey of surveys)
    for (const [text, count] of survey.prefixes) seen.set(text, (seen.get(text) ?? 0) + count);
  if (seen.size === 0 || seen.has(prefix)) return undefined;
  const ranked = [...seen].sort((a, b) => b[1] - a[1]);
  const listed = ranked
    .map(([text, count]) => `${JSON.stringify(text)} (${count} line${count === 1 ? '' : 's'})`)
    .join(', ');
  return `no netfilter line among the first ${HEAD_LINES.toLocaleString('en-US')} of each file carries the prefix ${JSON.stringify(prefix)} (logPrefix), so they are ignored; they carry ${listed}: replay with --prefix ${JSON.stringify(ranked[0]![0])}`;
}

/** The time of the last line of `bytes[from, …)` that has one, decoding lines from the end until one does. */
function lastTimeIn(bytes: Buffer, from: number, timeOf: (line: string) => number | undefined): number | undefined {
  let end = bytes.length;
  if (end > from && bytes[end - 1] === NEWLINE) end--;
  while (end >= from) {
    const start = Math.max(from, end === 0 ? 0 : bytes.lastIndexOf(NEWLINE, end - 1) + 1);
    const at = timeOf(bytes.toString('utf8', start, end));
    if (at !== undefined) return at;
    if (start <= from) return undefined;
    end = start - 1;
  }
  return undefined;
}

async function tailTime(path: string, timeOf: (line: string) => number | undefined): Promise<number | undefined> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    // The first line of the window may be cut: drop it unless the window is the whole file.
    const from = length < size ? buffer.indexOf(NEWLINE) + 1 : 0;
    return length < size && from === 0 ? undefined : lastTimeIn(buffer, from, timeOf);
  } finally {
    await handle.close();
  }
}

async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const magic = Buffer.alloc(2);
    const { bytesRead } = await handle.read(magic, 0, 2, 0);
    return bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

export interface InputOrder {
  /** The files in time order: by first timestamp; files without one keep their place after those with one. */
  readonly files: readonly InputSurvey[];
  /** One line each: the order was changed, or two files overlap in time. */
  readonly warnings: readonly string[];
}

/** Orders surveyed files by their first timestamp and says when the order changed or files overlap. */
export function orderInputs(surveys: readonly InputSurvey[]): InputOrder {
  const files = surveys
    .map((survey, index) => ({ survey, index }))
    .sort((a, b) => (a.survey.first ?? Infinity) - (b.survey.first ?? Infinity) || a.index - b.index)
    .map(({ survey }) => survey);
  const warnings: string[] = [];
  if (files.some((survey, index) => survey !== surveys[index])) {
    warnings.push(
      `reading the files in the order of their first timestamp: ${files.map((survey) => survey.path).join(', ')}`,
    );
  }
  for (let i = 1; i < files.length; i++) {
    const before = files[i - 1]!;
    const after = files[i]!;
    if (before.last !== undefined && after.first !== undefined && after.first < before.last) {
      warnings.push(
        `${after.path} starts (${iso(after.first)}) before ${before.path} ends (${iso(before.last)}): the files overlap, so knocks may be counted twice or out of order (replay each file alone, or drop the duplicate)`,
      );
    }
  }
  return { files, warnings };
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('.000Z', 'Z');
}
