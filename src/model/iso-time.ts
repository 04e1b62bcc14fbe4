// ISO-8601 UTC text of epoch ms, exactly as Date#toISOString() writes it, without a Date per
// call: replay formats times two or three times per grant change (audit records, the
// iptables `--datestop`), so the date part is computed once per UTC day, the time of day by
// arithmetic and table look-ups, and the last few seconds' text is kept. Times outside
// 1970..9999 or not whole ms go through Date as before.
const DAY_MS = 86_400_000;
/** 10000-01-01T00:00:00Z: from there on toISOString writes an expanded year. */
const FAST_END = 253_402_300_800_000;

let cachedDay = Number.NaN;
let cachedDate = '';
/** '00' … '99', and '.000Z' … '.999Z': the pieces are looked up, not made per call. */
const TWO = Array.from({ length: 100 }, (_, n) => String(n).padStart(2, '0'));
const MILLIS = Array.from({ length: 1000 }, (_, n) => `.${String(n).padStart(3, '0')}Z`);
/** The last few seconds' text, by epoch second modulo SLOTS (a grant's times are a few distinct seconds). */
const SLOTS = 8;
const slotSecond = new Array<number>(SLOTS).fill(Number.NaN);
const slotText = new Array<string>(SLOTS).fill('');

/** `YYYY-MM-DDTHH:MM:SS` of a whole-ms time in the fast range. */
function secondText(epochMs: number): string {
  const second = Math.floor(epochMs / 1000);
  const slot = second % SLOTS;
  if (slotSecond[slot] === second) return slotText[slot]!;
  const day = Math.floor(epochMs / DAY_MS);
  if (day !== cachedDay) {
    cachedDate = new Date(day * DAY_MS).toISOString().slice(0, 11);
    cachedDay = day;
  }
  const inDay = second - day * 86_400;
  const hours = Math.floor(inDay / 3600);
  const minutes = Math.floor((inDay - hours * 3600) / 60);
  const text = [cachedDate, TWO[hours], ':', TWO[minutes], ':', TWO[inDay - hours * 3600 - minutes * 60]].join('');
  slotSecond[slot] = second;
  slotText[slot] = text;
  return text;
}

function fast(epochMs: number): boolean {
  return Number.isInteger(epochMs) && epochMs >= 0 && epochMs < FAST_END;
}

/** `YYYY-MM-DDTHH:MM:SS.mmmZ`, what `new Date(epochMs).toISOString()` gives (and throws for). */
export function isoTime(epochMs: number): string {
  if (!fast(epochMs)) return new Date(epochMs).toISOString();
  return secondText(epochMs) + MILLIS[epochMs % 1000]!;
}

/** `YYYY-MM-DDTHH:MM:SS`: isoTime() without the milliseconds and the zone letter. */
export function isoSecond(epochMs: number): string {
  return fast(epochMs) ? secondText(epochMs) : new Date(epochMs).toISOString().slice(0, 19);
}
