import { parseDuration } from '../model/duration.js';
import { parseStep } from './steps.js';

// What a refused value probably meant, for the "did you mean" of a config problem: durations
// written in words ("1 hour", "90min") and knock steps in knockd's syntax ("7000:tcp").
const UNIT_WORDS: Readonly<Record<string, string>> = {
  ms: 'ms',
  msec: 'ms',
  msecs: 'ms',
  millisecond: 'ms',
  milliseconds: 'ms',
  s: 's',
  sec: 's',
  secs: 's',
  second: 's',
  seconds: 's',
  m: 'm',
  min: 'm',
  mins: 'm',
  minute: 'm',
  minutes: 'm',
  h: 'h',
  hr: 'h',
  hrs: 'h',
  hour: 'h',
  hours: 'h',
  d: 'd',
  day: 'd',
  days: 'd',
};

/** "1 hour" → "1h", "90min" → "90m", "2 weeks" → "14d"; undefined when no duration is recognisable. */
export function suggestDuration(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\.?\s*$/i.exec(value);
  if (!match) return undefined;
  const word = match[2]!.toLowerCase();
  const weeks = word === 'w' || word === 'week' || word === 'weeks';
  const candidate = weeks
    ? `${Number(match[1]) * 7}d`
    : UNIT_WORDS[word] === undefined
      ? undefined
      : `${match[1]}${UNIT_WORDS[word]}`;
  return candidate !== undefined && candidate !== value && parseDuration(candidate) !== undefined
    ? candidate
    : undefined;
}

/** "7000:tcp" (knockd) → "tcp:7000", "7000/udp" → "udp:7000", "TCP:22" → "tcp:22", "7000" → "tcp:7000". */
export function suggestStep(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  const swapped = /^(\d{1,5})[:/](tcp|udp)$/.exec(text);
  const slashed = /^(tcp|udp)\/(\d{1,5})$/.exec(text);
  const candidate = swapped
    ? `${swapped[2]}:${swapped[1]}`
    : slashed
      ? `${slashed[1]}:${slashed[2]}`
      : /^\d{1,5}$/.test(text)
        ? `tcp:${text}`
        : text;
  return candidate !== value && parseStep(candidate) !== undefined ? candidate : undefined;
}

/** `; did you mean "…"?` for a problem message, or nothing. */
export function didYouMean(suggestion: string | undefined): string {
  return suggestion === undefined ? '' : `; did you mean "${suggestion}"?`;
}
