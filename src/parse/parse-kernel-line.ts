import { UNCACHED, type AddressReader } from './address-cache.js';
import { readNetfilterFields } from './netfilter-fields.js';
import { MAX_LINE_BYTES } from '../model/line-limit.js';
import {
  DEFAULT_MAX_CLOCK_SKEW,
  type ForeignReason,
  type Packet,
  type ParseContext,
  type RejectReason,
} from './packet.js';
import { splitSyslogHeader, splitUlogdHeader } from './syslog-header.js';

// What one log line is to knocktail: a packet, not ours at all, or ours but unusable.
// A genuine kernel packet that is not this host's INPUT traffic is `foreign`: with
// nf_log_all_netns=1 every network namespace prints real LOG lines with our prefix.
export type LineResult =
  | { kind: 'packet'; packet: Packet }
  | { kind: 'ignored'; reason?: 'not-kernel' }
  | { kind: 'foreign'; reason: ForeignReason }
  /** `field`/`detail` name what is wrong when known: DPT, "leading zero". */
  | { kind: 'malformed'; reason: RejectReason; field?: string; detail?: string };

/** Longer lines are no kernel LOG line (the kernel's own maximum is ~1 KiB); never parsed. The readers drop them before. */
export const MAX_LINE_LENGTH = MAX_LINE_BYTES;

/** "DPT: leading zero", or the bare reason: what a log line or a verbose replay says of a malformed line. */
export function describeMalformed(result: { reason: RejectReason; field?: string; detail?: string }): string {
  if (result.detail === undefined) return result.reason;
  return result.field === undefined ? result.detail : `${result.field}: ${result.detail}`;
}

const IGNORED: LineResult = Object.freeze({ kind: 'ignored' });
const NOT_KERNEL: LineResult = Object.freeze({ kind: 'ignored', reason: 'not-kernel' });

/**
 * Parse one log line (without its newline). Pure and total: no I/O, no clock, never throws.
 * A packet needs the configured prefix at the very start of a kernel message; a line whose
 * sender is not the kernel is never a packet, whatever it says. `addresses` is the caller's
 * memo of address lookups (a pipeline keeps one per instance; default: none).
 */
export function parseKernelLine(line: string, ctx: ParseContext, addresses: AddressReader = UNCACHED): LineResult {
  try {
    return classify(line, ctx, addresses);
  } catch {
    // Defensive only: every reader below is written not to throw on any input.
    return { kind: 'malformed', reason: 'bad-field' };
  }
}

function classify(line: string, ctx: ParseContext, addresses: AddressReader): LineResult {
  const prefix = ctx.prefix;
  if (prefix.length === 0) return IGNORED;
  if (line.length > MAX_LINE_LENGTH) return line.includes(prefix) ? { kind: 'malformed', reason: 'too-long' } : IGNORED;
  const ulogd = ctx.header === 'ulogd';
  const header = ulogd ? splitUlogdHeader(line, ctx) : splitSyslogHeader(line, ctx);
  if (!header)
    return startsWithPrefixSomewhere(line, prefix, ulogd) ? { kind: 'malformed', reason: 'no-timestamp' } : IGNORED;
  if (!line.startsWith(prefix, header.messageStart)) return IGNORED;
  if (!header.kernel) return NOT_KERNEL;
  // ulogd's PRINTPKT puts a space between the prefix and "IN=".
  const afterPrefix = header.messageStart + prefix.length;
  const fieldsStart = ulogd && line.charCodeAt(afterPrefix) === 32 ? afterPrefix + 1 : afterPrefix;
  if (hasBinary(line, fieldsStart)) return { kind: 'malformed', reason: 'binary' };
  if (Number.isNaN(header.at)) return { kind: 'malformed', reason: 'no-timestamp' };
  // A line from the future would outlive every timeout and sort before real ones.
  if (header.at > ctx.referenceTime + (ctx.maxClockSkew ?? DEFAULT_MAX_CLOCK_SKEW)) return FUTURE;
  const read = readNetfilterFields(line, fieldsStart, addresses, ulogd ? 'ulogd' : 'kernel');
  if (!read.ok) {
    const { reason, field, detail } = read;
    return {
      kind: 'malformed',
      reason,
      ...(field === undefined ? {} : { field }),
      ...(detail === undefined ? {} : { detail }),
    };
  }
  const foreign = foreignReason(read.fields, read.out, ctx.localAddresses);
  if (foreign) return { kind: 'foreign', reason: foreign };
  return { kind: 'packet', packet: { at: header.at, prefix, ...read.fields } };
}

const FUTURE: LineResult = Object.freeze({
  kind: 'malformed',
  reason: 'bad-field',
  field: 'timestamp',
  detail: 'in the future',
});

// Only a packet that arrived on an interface (IN= set), is not being routed on (OUT=
// empty) and is addressed to this host is a knock on this host.
function foreignReason(
  fields: { in: string; dst: string },
  out: string,
  local: ReadonlySet<string> | undefined,
): ForeignReason | undefined {
  if (fields.in === '') return 'no-in';
  if (out !== '') return 'out-set';
  if (local !== undefined && !local.has(fields.dst)) return 'dst-not-local';
  return undefined;
}

// A header we cannot read is only worth a counter when the line looks like one of ours.
function startsWithPrefixSomewhere(line: string, prefix: string, ulogd: boolean): boolean {
  return line.includes(ulogd ? `${prefix} IN=` : `${prefix}IN=`);
}

// Control characters, DEL and U+FFFD (what utf8 decoding makes of invalid bytes) never
// appear in a kernel LOG message; rsyslog escapes them as "#011" and the like.
const BINARY = /[\u0000-\u001f\u007f\ufffd]/;

function hasBinary(line: string, from: number): boolean {
  // A native regex scan of the whole line beats a charCodeAt loop from `from`; the header
  // before it was already read as text, so a hit there is junk in this line all the same.
  return from < line.length && BINARY.test(line);
}
