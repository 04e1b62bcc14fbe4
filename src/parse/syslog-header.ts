import type { ParseContext } from './packet.js';
import { readDigits, readIsoTime, readTraditionalTime, readUptimeMs, type TimeRead } from './syslog-time.js';

// The part of a log line before the kernel's own message, in every format knocktail reads:
// rsyslog RSYSLOG_FileFormat and RSYSLOG_TraditionalFileFormat, RFC 5424 (and RFC 3164
// with a PRI), journalctl -k -o short-iso-precise, raw /dev/kmsg records and plain dmesg.
export interface SyslogHeader {
  /** Epoch ms of the line; NaN when the header's time is missing or invalid. */
  readonly at: number;
  /** Whether the sender is the kernel (tag `kernel`, facility kern), not a userspace program. */
  readonly kernel: boolean;
  /** Index in the line where the kernel message starts (after an optional `[uptime] `). */
  readonly messageStart: number;
}

const KERNEL_TAG = 'kernel:';

/** The header of `line`, or undefined when no known format matches. Never throws. */
export function splitSyslogHeader(line: string, ctx: ParseContext): SyslogHeader | undefined {
  const first = line.charCodeAt(0);
  if (first === 60) return splitPriHeader(line, ctx); // "<"
  if (first === 91) return splitDmesg(line, ctx); // "["
  if (first >= 48 && first <= 57) {
    return line.charCodeAt(4) === 45 ? splitTagged(line, readIsoTime(line, 0)) : splitKmsg(line, ctx);
  }
  return splitTagged(line, readTraditionalTime(line, 0, ctx.referenceTime, ctx.zoneOffsetMinutes));
}

/**
 * The header of a line of knocktail's own ulogd2 (LOGEMU): `Dec  6 06:23:06 host ` and the
 * message (PRINTPKT: the NFLOG prefix, a space, `IN=…`). No sender is named: ulogd writes
 * that file alone, so every line of it counts as the kernel's (docs/nflog.md, the trust rule).
 */
export function splitUlogdHeader(line: string, ctx: ParseContext): SyslogHeader | undefined {
  const time = readTraditionalTime(line, 0, ctx.referenceTime, ctx.zoneOffsetMinutes);
  if (!time || line.charCodeAt(time.end) !== 32) return undefined;
  const hostEnd = line.indexOf(' ', time.end + 1);
  if (hostEnd <= time.end + 1) return undefined;
  return { at: time.at, kernel: true, messageStart: hostEnd + 1 };
}

// "<time> <host> <tag>: <message>" as written by rsyslog's file formats and journalctl.
function splitTagged(line: string, time: TimeRead | undefined, facilityIsKernel = true): SyslogHeader | undefined {
  if (!time || line.charCodeAt(time.end) !== 32) return undefined;
  const hostEnd = line.indexOf(' ', time.end + 1);
  if (hostEnd <= time.end + 1) return undefined;
  const tagEnd = line.indexOf(':', hostEnd + 1);
  const space = line.indexOf(' ', hostEnd + 1);
  // A tag is one word ending in ":"; without one this is not a syslog line we know.
  if (tagEnd < 0 || (space >= 0 && space < tagEnd)) return undefined;
  const kernel = facilityIsKernel && line.startsWith(KERNEL_TAG, hostEnd + 1) && tagEnd === hostEnd + KERNEL_TAG.length;
  const messageStart = tagEnd + (line.charCodeAt(tagEnd + 1) === 32 ? 2 : 1);
  return { at: time.at, kernel, messageStart: skipUptime(line, messageStart) };
}

// "<PRI>1 TIME HOST APP PROCID MSGID SD MSG" (RFC 5424) or "<PRI>Nov 24 … host tag: msg" (RFC 3164).
function splitPriHeader(line: string, ctx: ParseContext): SyslogHeader | undefined {
  const close = line.indexOf('>');
  // 1-3 digits without a leading zero (RFC 5424 PRIVAL; what every syslog daemon writes): "<03>" is no real header.
  if (close < 2 || close > 4 || (close > 2 && line.charCodeAt(1) === 48)) return undefined;
  const pri = readDigits(line, 1, close - 1);
  if (pri < 0 || pri > 191) return undefined;
  const kernFacility = pri >> 3 === 0;
  if (!line.startsWith('1 ', close + 1)) {
    const at = close + 1;
    const time =
      readDigits(line, at, 1) >= 0
        ? readIsoTime(line, at)
        : readTraditionalTime(line, at, ctx.referenceTime, ctx.zoneOffsetMinutes);
    return splitTagged(line, time, kernFacility);
  }
  const words: number[] = [close + 3]; // start of TIME, HOST, APP, PROCID, MSGID, SD
  for (let k = 0; k < 5; k++) {
    const space = line.indexOf(' ', words[k]);
    if (space < 0) return undefined;
    words.push(space + 1);
  }
  const timeStart = words[0]!;
  const time = line.startsWith('- ', timeStart) ? { at: NaN, end: timeStart + 1 } : readIsoTime(line, timeStart);
  if (!time || time.end !== words[1]! - 1) return undefined;
  const app = line.slice(words[2], words[3]! - 1);
  const messageStart = skipStructuredData(line, words[5]!);
  if (messageStart < 0) return undefined;
  const bom = line.charCodeAt(messageStart) === 0xfeff ? 1 : 0;
  return { at: time.at, kernel: kernFacility && app === 'kernel', messageStart: skipUptime(line, messageStart + bom) };
}

// RFC 5424 STRUCTURED-DATA: "-" or one or more "[id k="v" …]" elements; returns the MSG start.
function skipStructuredData(line: string, at: number): number {
  if (line.charCodeAt(at) === 45) return line.charCodeAt(at + 1) === 32 ? at + 2 : at + 1;
  let i = at;
  while (line.charCodeAt(i) === 91) {
    for (i++; i < line.length && line.charCodeAt(i) !== 93; i++) if (line.charCodeAt(i) === 92) i++;
    if (i >= line.length) return -1;
    i++;
  }
  if (i === at) return -1;
  return line.charCodeAt(i) === 32 ? i + 1 : i;
}

// "4,341,103854386,-;message" — facility 0 is the kernel; userspace writes get LOG_USER.
function splitKmsg(line: string, ctx: ParseContext): SyslogHeader | undefined {
  const semicolon = line.indexOf(';');
  if (semicolon < 0 || semicolon > 48) return undefined;
  const fields = line.slice(0, semicolon).split(',');
  if (fields.length < 4) return undefined;
  // The kernel prints the priority with %u: no leading zero.
  const pri = /^(?:0|[1-9]\d{0,3})$/.test(fields[0]!) ? Number(fields[0]) : -1;
  const micros = /^\d{1,18}$/.test(fields[2]!) ? Number(fields[2]) : -1;
  if (pri < 0 || micros < 0 || !/^\d+$/.test(fields[1]!)) return undefined;
  return { at: ctx.bootTime + Math.floor(micros / 1000), kernel: pri >> 3 === 0, messageStart: semicolon + 1 };
}

// "[  103.854386] message" — dmesg shows only kernel-buffer records, timed by uptime.
function splitDmesg(line: string, ctx: ParseContext): SyslogHeader | undefined {
  const close = line.indexOf(']');
  if (close < 0 || close > 24) return undefined;
  const uptime = readUptimeMs(line, 1, close);
  if (Number.isNaN(uptime)) return undefined;
  return { at: ctx.bootTime + uptime, kernel: true, messageStart: close + (line.charCodeAt(close + 1) === 32 ? 2 : 1) };
}

// rsyslog keeps the kernel's "[  103.854386] " inside the message when printk times are on.
function skipUptime(line: string, at: number): number {
  if (line.charCodeAt(at) !== 91) return at;
  const close = line.indexOf(']', at);
  if (close < 0 || close - at > 24 || Number.isNaN(readUptimeMs(line, at + 1, close))) return at;
  return close + (line.charCodeAt(close + 1) === 32 ? 2 : 1);
}
