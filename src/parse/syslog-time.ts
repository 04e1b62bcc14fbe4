// Timestamps of the syslog header formats, read by hand: Date.parse is lenient (it takes
// "2026-02-30") and slow, and traditional syslog has neither a year nor a zone.
// Every reader returns epoch ms, or NaN when the text is not a valid time.

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAY_MS = 86_400_000;

/** Value of the `count` decimal digits at `at`, or -1 when any is not a digit. */
export function readDigits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    value = value * 10 + c;
  }
  return value;
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : (DAYS[month - 1] ?? 0);
}

function wallTime(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  // readDigits gives -1 for a non-digit ("202>"); no kernel log line predates 1970.
  if (year < 1970) return NaN;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) return NaN;
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

export interface TimeRead {
  readonly at: number;
  /** Index just past the timestamp. */
  readonly end: number;
}

/** `2026-11-24T15:50:22.137638+00:00` (rsyslog, RFC 5424) or `…+0000` (journalctl) or `…Z`. */
export function readIsoTime(text: string, at: number): TimeRead | undefined {
  if (text.charCodeAt(at + 4) !== 45 || text.charCodeAt(at + 7) !== 45 || text.charCodeAt(at + 10) !== 84)
    return undefined;
  if (text.charCodeAt(at + 13) !== 58 || text.charCodeAt(at + 16) !== 58) return undefined;
  const base = wallTime(
    readDigits(text, at, 4),
    readDigits(text, at + 5, 2),
    readDigits(text, at + 8, 2),
    readDigits(text, at + 11, 2),
    readDigits(text, at + 14, 2),
    readDigits(text, at + 17, 2),
  );
  if (Number.isNaN(base)) return undefined;
  let i = at + 19;
  let ms = 0;
  if (text.charCodeAt(i) === 46) {
    let digits = 0;
    i++;
    while (digits < 9 && readDigits(text, i, 1) >= 0) {
      if (digits < 3) ms = ms * 10 + readDigits(text, i, 1);
      digits++;
      i++;
    }
    if (digits === 0) return undefined;
    for (let d = digits; d < 3; d++) ms *= 10;
  }
  const sign = text.charCodeAt(i);
  if (sign === 90) return { at: base + ms, end: i + 1 };
  if (sign !== 43 && sign !== 45) return undefined;
  const hours = readDigits(text, i + 1, 2);
  const colon = text.charCodeAt(i + 3) === 58 ? 1 : 0;
  const minutes = readDigits(text, i + 3 + colon, 2);
  if (hours < 0 || hours > 23 || minutes < 0 || minutes > 59) return undefined;
  const offset = (hours * 60 + minutes) * 60_000 * (sign === 43 ? 1 : -1);
  return { at: base + ms - offset, end: i + 5 + colon };
}

// The process's own zone, for traditional syslog when the context gives none.
function processZoneOffset(epochMs: number): number {
  return -new Date(epochMs).getTimezoneOffset();
}

/**
 * `Nov 24 15:50:22` (RSYSLOG_TraditionalFileFormat): local time without a year. The year is
 * the one that puts the time no more than a day after `referenceTime` (so a December line
 * read in January belongs to last year).
 */
export function readTraditionalTime(
  text: string,
  at: number,
  referenceTime: number,
  zoneOffsetMinutes: (epochMs: number) => number = processZoneOffset,
): TimeRead | undefined {
  const month = MONTHS.indexOf(text.slice(at, at + 3)) + 1;
  if (month === 0 || text.charCodeAt(at + 3) !== 32) return undefined;
  const day = text.charCodeAt(at + 4) === 32 ? readDigits(text, at + 5, 1) : readDigits(text, at + 4, 2);
  if (text.charCodeAt(at + 6) !== 32 || text.charCodeAt(at + 9) !== 58 || text.charCodeAt(at + 12) !== 58)
    return undefined;
  const hour = readDigits(text, at + 7, 2);
  const minute = readDigits(text, at + 10, 2);
  const second = readDigits(text, at + 13, 2);
  const referenceYear = new Date(referenceTime).getUTCFullYear();
  for (const year of [referenceYear + 1, referenceYear, referenceYear - 1]) {
    const wall = wallTime(year, month, day, hour, minute, second);
    if (Number.isNaN(wall)) continue; // Feb 29 exists in some years only
    const utc = wall - zoneOffsetMinutes(wall) * 60_000;
    if (utc <= referenceTime + DAY_MS) return { at: utc, end: at + 15 };
  }
  return undefined;
}

/** A kernel uptime `  103.854386` (seconds, fraction) as ms; NaN when not one. */
export function readUptimeMs(text: string, start: number, end: number): number {
  let i = start;
  while (i < end && text.charCodeAt(i) === 32) i++;
  const dot = text.indexOf('.', i);
  if (dot <= i || dot >= end || dot - i > 12 || end - dot - 1 < 1 || end - dot - 1 > 9) return NaN;
  const seconds = readDigits(text, i, dot - i);
  const fraction = readDigits(text, dot + 1, Math.min(3, end - dot - 1));
  if (seconds < 0 || fraction < 0 || readDigits(text, dot + 1, end - dot - 1) < 0) return NaN;
  const scale = end - dot - 1 >= 3 ? 1 : end - dot - 1 === 2 ? 10 : 100;
  return seconds * 1000 + fraction * scale;
}
