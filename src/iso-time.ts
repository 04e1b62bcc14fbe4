// ISO-8601 UTC text of epoch ms, exactly as Date#toISOString() writes it, without a Date per
// call: replay formats times two or three times per grant change (audit records, the
// iptables `--datestop`), so the date part is computed once per UTC day and the time of day
// by arithmetic. Times outside 1970..9999 or not whole ms go through Date as before.
const DAY_MS = 86_400_000;
/** 10000-01-01T00:00:00Z: from there on toISOString writes an expanded year. */
const FAST_END = 253_402_300_800_000;

let cachedDay = Number.NaN;
let cachedDate = '';

function two(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/** `YYYY-MM-DDTHH:MM:SS` of a whole-ms time in the fast range, and its milliseconds. */
function secondText(epochMs: number): string {
  const day = Math.floor(epochMs / DAY_MS);
  if (day !== cachedDay) {
    cachedDate = new Date(day * DAY_MS).toISOString().slice(0, 11);
    cachedDay = day;
  }
  const inDay = Math.floor((epochMs - day * DAY_MS) / 1000);
  const hours = Math.floor(inDay / 3600);
  const minutes = Math.floor((inDay - hours * 3600) / 60);
  return `${cachedDate}${two(hours)}:${two(minutes)}:${two(inDay - hours * 3600 - minutes * 60)}`;
}

function fast(epochMs: number): boolean {
  return Number.isInteger(epochMs) && epochMs >= 0 && epochMs < FAST_END;
}

/** `YYYY-MM-DDTHH:MM:SS.mmmZ`, what `new Date(epochMs).toISOString()` gives (and throws for). */
export function isoTime(epochMs: number): string {
  if (!fast(epochMs)) return new Date(epochMs).toISOString();
  const ms = epochMs % 1000;
  return `${secondText(epochMs)}.${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}

/** `YYYY-MM-DDTHH:MM:SS`: isoTime() without the milliseconds and the zone letter. */
export function isoSecond(epochMs: number): string {
  return fast(epochMs) ? secondText(epochMs) : new Date(epochMs).toISOString().slice(0, 19);
}
