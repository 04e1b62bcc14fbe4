import { AddressCache } from './address-cache.js';
import { DEFAULT_MAX_CLOCK_SKEW, type ForeignReason, type Packet, type ParseContext, type TcpFlag } from './packet.js';
import type { LineResult } from './parse-kernel-line.js';
import { MAX_LINE_BYTES } from '../model/line-limit.js';
import { readUptimeMs } from './syslog-time.js';

// The fast path of parseKernelLine for the one shape nearly every line has: an RFC 3339
// rsyslog header from the kernel, then IN= … in the exact form nf_log_syslog.c prints for a
// TCP, UDP or ICMP echo packet. One forward pass over the bytes, no line string, no per-field
// object. Anything else (other header formats, odd fields, every malformed line) gives
// `undefined` and the caller runs the strict parser: for every line it answers, the answer is
// the strict parser's (the property tests in __tests__/parse/byte-line-reader.test.ts).
const SPACE = 0x20;
const COLON = 0x3a;
const MAX_U16 = 65535;

const TCP_FLAGS: readonly TcpFlag[] = ['CWR', 'ECE', 'URG', 'ACK', 'PSH', 'RST', 'SYN', 'FIN'];
const FOREIGN: Readonly<Record<ForeignReason, LineResult>> = {
  'no-in': Object.freeze({ kind: 'foreign', reason: 'no-in' }),
  'out-set': Object.freeze({ kind: 'foreign', reason: 'out-set' }),
  'dst-not-local': Object.freeze({ kind: 'foreign', reason: 'dst-not-local' }),
};
const NO_FLAGS: ReadonlySet<TcpFlag> = new Set();

function ascii(text: string): Uint8Array {
  return Buffer.from(text, 'latin1');
}

const KERNEL_TAG = ascii('kernel: ');
const IN = ascii('IN=');
const OUT = ascii('OUT=');
const MAC = ascii('MAC=');
const SRC = ascii('SRC=');
const DST = ascii('DST=');
const LEN = ascii('LEN=');
const TOS = ascii('TOS=');
const PREC = ascii('PREC=');
const TTL = ascii('TTL=');
const ID = ascii('ID=');
const TC = ascii('TC=');
const HOPLIMIT = ascii('HOPLIMIT=');
const FLOWLBL = ascii('FLOWLBL=');
const PROTO = ascii('PROTO=');
const SPT = ascii('SPT=');
const DPT = ascii('DPT=');
const WINDOW = ascii('WINDOW=');
const RES = ascii('RES=');
const URGP = ascii('URGP=');
const TYPE = ascii('TYPE=');
const CODE = ascii('CODE=');
const SEQ = ascii('SEQ=');

/** Reads the common kernel LOG line straight from a chunk; a per-pipeline memo of addresses, interface names and hours. */
export class ByteLineReader {
  private readonly prefix: Uint8Array;
  /** A prefix with bytes outside printable ASCII is left to the strict parser. */
  private readonly usable: boolean;
  private readonly flagSets = new Map<number, ReadonlySet<TcpFlag>>();
  private lastInterface = '';
  private lastInterfaceBytes: Uint8Array = new Uint8Array(0);
  private hourKey = -1;
  private hourStart = NaN;
  // The cursor of the line being read.
  private buf: Uint8Array = new Uint8Array(0);
  private at = 0;
  private end = 0;

  constructor(
    private readonly ctx: ParseContext,
    /** The pipeline's memo of addresses, shared with its calls of parseKernelLine. */
    private readonly addresses: AddressCache = new AddressCache(),
  ) {
    this.prefix = Buffer.from(ctx.prefix, 'utf8');
    // ulogd's lines (no `kernel:` tag) are the strict parser's alone.
    this.usable = this.prefix.length > 0 && this.prefix.every(isPrintable) && ctx.header !== 'ulogd';
  }

  /** The strict parser's result for the line `buf[start, end)` (no newline), or undefined when it is not the common shape. */
  read(buf: Uint8Array, start: number, end: number): LineResult | undefined {
    if (!this.usable || end - start > MAX_LINE_BYTES) return undefined;
    this.buf = buf;
    this.at = start;
    this.end = end;
    const at = this.readHeader();
    if (Number.isNaN(at) || !this.skipPrefix()) return undefined;
    if (at > this.ctx.referenceTime + (this.ctx.maxClockSkew ?? DEFAULT_MAX_CLOCK_SKEW)) return undefined;
    // The strict parser drops trailing spaces before reading the fields.
    while (this.end > this.at && buf[this.end - 1] === SPACE) this.end--;
    return this.readFields(at);
  }

  // "2026-11-24T15:50:22.137638+00:00 host kernel: [  103.854386] " → epoch ms (NaN: not this shape).
  private readHeader(): number {
    const b = this.buf;
    const s = this.at;
    if (
      s + 20 > this.end ||
      b[s + 4] !== 0x2d ||
      b[s + 7] !== 0x2d ||
      b[s + 10] !== 0x54 ||
      b[s + 13] !== COLON ||
      b[s + 16] !== COLON
    )
      return NaN;
    const year = digits(b, s, 4);
    const month = digits(b, s + 5, 2);
    const day = digits(b, s + 8, 2);
    const hour = digits(b, s + 11, 2);
    const minute = digits(b, s + 14, 2);
    const second = digits(b, s + 17, 2);
    if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || minute > 59 || second < 0 || second > 60)
      return NaN;
    // Date.UTC is linear within an hour: one call per distinct hour of the log.
    const key = year * 1_000_000 + month * 10_000 + day * 100 + hour;
    if (key !== this.hourKey) {
      this.hourKey = key;
      this.hourStart = hourStart(year, month, day, hour);
    }
    if (Number.isNaN(this.hourStart)) return NaN;
    let i = s + 19;
    let ms = 0;
    if (b[i] === 0x2e) {
      let count = 0;
      i++;
      while (count < 9 && i < this.end && isDigit(b[i]!)) {
        if (count < 3) ms = ms * 10 + (b[i]! - 48);
        count++;
        i++;
      }
      if (count === 0) return NaN;
      for (let d = count; d < 3; d++) ms *= 10;
    }
    let offset = 0;
    const sign = b[i];
    if (sign === 0x5a) i += 1;
    else if (sign === 0x2b || sign === 0x2d) {
      const hours = digits(b, i + 1, 2);
      const colon = b[i + 3] === COLON ? 1 : 0;
      const minutes = digits(b, i + 3 + colon, 2);
      if (hours < 0 || hours > 23 || minutes < 0 || minutes > 59 || i + 5 + colon > this.end) return NaN;
      offset = (hours * 60 + minutes) * 60_000 * (sign === 0x2b ? 1 : -1);
      i += 5 + colon;
    } else return NaN;
    if (b[i] !== SPACE) return NaN;
    // The host: one printable word, then exactly "kernel: ".
    const hostStart = ++i;
    while (i < this.end && b[i] !== SPACE) {
      if (!isPrintable(b[i]!)) return NaN;
      i++;
    }
    if (i === hostStart || i >= this.end || !matchesAt(b, i + 1, KERNEL_TAG, this.end)) return NaN;
    this.at = i + 1 + KERNEL_TAG.length;
    this.skipUptime();
    return this.hourStart + (minute * 60 + second) * 1000 + ms - offset;
  }

  // rsyslog keeps the kernel's "[  103.854386] " inside the message when printk times are on.
  private skipUptime(): void {
    const b = this.buf;
    const at = this.at;
    if (b[at] !== 0x5b) return;
    let close = at + 1;
    while (close < this.end && b[close] !== 0x5d) close++;
    if (close >= this.end || close - at > 24) return;
    const text = Buffer.from(b.buffer, b.byteOffset + at, close + 1 - at).toString('latin1');
    if (Number.isNaN(readUptimeMs(text, 1, close - at))) return;
    this.at = close + (b[close + 1] === SPACE ? 2 : 1);
  }

  private skipPrefix(): boolean {
    if (!matchesAt(this.buf, this.at, this.prefix, this.end)) return false;
    this.at += this.prefix.length;
    return true;
  }

  private readFields(at: number): LineResult | undefined {
    const inName = this.readInterface();
    if (inName === undefined || !this.key(OUT)) return undefined;
    const outStart = this.at;
    if (!this.skipWord()) return undefined;
    const outSet = this.at - 1 > outStart;
    if (this.startsWith(MAC)) {
      this.at += MAC.length;
      if (!this.skipWord()) return undefined;
    }
    if (!this.key(SRC)) return undefined;
    const src = this.readAddress();
    if (src === undefined || !this.key(DST)) return undefined;
    const dst = this.readAddress();
    if (dst === undefined || dst.family !== src.family) return undefined;
    let len: number;
    let ttl: number;
    if (src.family === 4) {
      len = this.number(LEN, MAX_U16);
      if (len < 0 || !this.hex(TOS) || !this.hex(PREC)) return undefined;
      ttl = this.number(TTL, 255);
      if (ttl < 0 || this.number(ID, MAX_U16) < 0) return undefined;
      while (this.isIpFlag()) this.at += 3;
    } else {
      len = this.number(LEN, 4_294_967_295);
      if (len < 0 || this.number(TC, 255) < 0) return undefined;
      ttl = this.number(HOPLIMIT, 255);
      if (ttl < 0 || this.number(FLOWLBL, 0xfffff) < 0) return undefined;
    }
    if (!this.key(PROTO)) return undefined;
    const packet = this.readTransport(at, inName, src, dst, len, ttl);
    if (packet === undefined || this.at < this.end) return undefined;
    if (inName === '') return FOREIGN['no-in'];
    if (outSet) return FOREIGN['out-set'];
    const local = this.ctx.localAddresses;
    if (local !== undefined && !local.has(dst.text)) return FOREIGN['dst-not-local'];
    return { kind: 'packet', packet };
  }

  private readTransport(
    at: number,
    inName: string,
    src: Address,
    dst: Address,
    len: number,
    ttl: number,
  ): Packet | undefined {
    const b = this.buf;
    const p = this.at;
    const prefix = this.ctx.prefix;
    const family = src.family;
    if (b[p] === 0x54 && b[p + 1] === 0x43 && b[p + 2] === 0x50 && this.wordEndsAt(p + 3)) {
      this.at = p + 4;
      const sport = this.number(SPT, MAX_U16);
      const dport = this.number(DPT, MAX_U16);
      if (
        sport < 0 ||
        dport < 0 ||
        this.startsWith(SEQ) ||
        this.number(WINDOW, MAX_U16) < 0 ||
        !this.key(RES) ||
        !this.skipWord()
      )
        return undefined;
      const flags = this.readTcpFlags();
      if (this.number(URGP, MAX_U16) < 0) return undefined;
      return {
        at,
        prefix,
        in: inName,
        family,
        src: src.text,
        dst: dst.text,
        proto: 'tcp',
        len,
        ttl,
        sport,
        dport,
        flags,
      };
    }
    if (b[p] === 0x55 && b[p + 1] === 0x44 && b[p + 2] === 0x50) {
      const lite = b[p + 3] === 0x4c && b[p + 4] === 0x49 && b[p + 5] === 0x54 && b[p + 6] === 0x45;
      const wordEnd = p + (lite ? 7 : 3);
      if (!this.wordEndsAt(wordEnd)) return undefined;
      this.at = wordEnd + 1;
      const sport = this.number(SPT, MAX_U16);
      const dport = this.number(DPT, MAX_U16);
      if (sport < 0 || dport < 0 || this.number(LEN, MAX_U16) < 0) return undefined;
      return {
        at,
        prefix,
        in: inName,
        family,
        src: src.text,
        dst: dst.text,
        proto: lite ? 'udplite' : 'udp',
        len,
        ttl,
        sport,
        dport,
        flags: NO_FLAGS,
      };
    }
    if (b[p] === 0x49 && b[p + 1] === 0x43 && b[p + 2] === 0x4d && b[p + 3] === 0x50) {
      const v6 = b[p + 4] === 0x76 && b[p + 5] === 0x36;
      const wordEnd = p + (v6 ? 6 : 4);
      if (!this.wordEndsAt(wordEnd)) return undefined;
      this.at = wordEnd + 1;
      const icmpType = this.number(TYPE, 255);
      const icmpCode = this.number(CODE, 255);
      // Only echo request and reply: every other type carries words left to the strict parser.
      const echo = v6 ? icmpType === 128 || icmpType === 129 : icmpType === 0 || icmpType === 8;
      if (icmpCode < 0 || !echo || this.number(ID, MAX_U16) < 0 || this.number(SEQ, MAX_U16) < 0) return undefined;
      return {
        at,
        prefix,
        in: inName,
        family,
        src: src.text,
        dst: dst.text,
        proto: v6 ? 'icmpv6' : 'icmp',
        len,
        ttl,
        icmpType,
        icmpCode,
        flags: NO_FLAGS,
      };
    }
    return undefined;
  }

  // The bare flag words before URGP=, as one shared set per combination.
  private readTcpFlags(): ReadonlySet<TcpFlag> {
    let mask = 0;
    for (;;) {
      const bit = this.flagBit();
      if (bit < 0) break;
      mask |= bit;
    }
    let set = this.flagSets.get(mask);
    if (set === undefined) {
      set = new Set(TCP_FLAGS.filter((_, index) => (mask & (1 << index)) !== 0));
      this.flagSets.set(mask, set);
    }
    return set;
  }

  // The bit of the flag word at the cursor (AE: 0, newer than the Packet type), consumed; -1 for any other word.
  private flagBit(): number {
    const b = this.buf;
    const p = this.at;
    if (b[p] === 0x41 && b[p + 1] === 0x45 && this.wordEndsAt(p + 2)) {
      this.at = p + 3;
      return 0;
    }
    if (!this.wordEndsAt(p + 3)) return -1;
    for (let index = 0; index < TCP_FLAGS.length; index++) {
      const flag = TCP_FLAGS[index]!;
      if (b[p] === flag.charCodeAt(0) && b[p + 1] === flag.charCodeAt(1) && b[p + 2] === flag.charCodeAt(2)) {
        this.at = p + 4;
        return 1 << index;
      }
    }
    return -1;
  }

  private isIpFlag(): boolean {
    const b = this.buf;
    const p = this.at;
    if (!this.wordEndsAt(p + 2)) return false;
    const c0 = b[p];
    const c1 = b[p + 1];
    return (c0 === 0x44 && c1 === 0x46) || (c0 === 0x4d && c1 === 0x46) || (c0 === 0x43 && c1 === 0x45);
  }

  // IN=: empty, or a name as the kernel allows it (1-15 bytes, not "." or "..", no '/', ':' or space).
  private readInterface(): string | undefined {
    if (!this.key(IN)) return undefined;
    const b = this.buf;
    const start = this.at;
    let i = start;
    while (i < this.end && b[i] !== SPACE) {
      const c = b[i]!;
      if (!isPrintable(c) || c === 0x2f || c === COLON) return undefined;
      i++;
    }
    if (i >= this.end) return undefined;
    const length = i - start;
    this.at = i + 1;
    if (length === 0) return '';
    if (length > 15 || (b[start] === 0x2e && (length === 1 || (length === 2 && b[start + 1] === 0x2e))))
      return undefined;
    const last = this.lastInterfaceBytes;
    if (last.length === length && matchesAt(b, start, last, i)) return this.lastInterface;
    this.lastInterfaceBytes = Uint8Array.prototype.slice.call(b, start, i);
    this.lastInterface = Buffer.from(this.lastInterfaceBytes).toString('latin1');
    return this.lastInterface;
  }

  private readAddress(): Address | undefined {
    const b = this.buf;
    const start = this.at;
    let i = start;
    while (i < this.end && b[i] !== SPACE) {
      if (!isPrintable(b[i]!)) return undefined;
      i++;
    }
    if (i >= this.end || i - start > 45) return undefined;
    this.at = i + 1;
    const read = this.addresses.normaliseBytes(b, start, i);
    return read.ok ? read.address : undefined;
  }

  // Passes printable bytes up to and over the next space; false at the end of the line or on any other byte.
  private skipWord(): boolean {
    const b = this.buf;
    let i = this.at;
    while (i < this.end && b[i] !== SPACE) {
      if (!isPrintable(b[i]!)) return false;
      i++;
    }
    if (i >= this.end) return false;
    this.at = i + 1;
    return true;
  }

  private startsWith(word: Uint8Array): boolean {
    return matchesAt(this.buf, this.at, word, this.end);
  }

  private key(key: Uint8Array): boolean {
    if (!matchesAt(this.buf, this.at, key, this.end)) return false;
    this.at += key.length;
    return true;
  }

  // The word ends at `p`: a single space follows, or the (trimmed) line ends there.
  private wordEndsAt(p: number): boolean {
    return p === this.end || (p < this.end && this.buf[p] === SPACE && p + 1 < this.end && this.buf[p + 1] !== SPACE);
  }

  // KEY=n as the kernel prints it with %u (no leading zero), at most `max`; -1 otherwise.
  private number(key: Uint8Array, max: number): number {
    if (!this.key(key)) return -1;
    const b = this.buf;
    const start = this.at;
    let i = start;
    let n = 0;
    while (i < this.end && isDigit(b[i]!)) n = n * 10 + (b[i++]! - 48);
    const count = i - start;
    if (count === 0 || count > 10 || (count > 1 && b[start] === 48) || n > max || !this.wordEndsAt(i)) return -1;
    this.at = i === this.end ? i : i + 1;
    return n;
  }

  // KEY=0xHH as the kernel prints TOS and PREC (%02X).
  private hex(key: Uint8Array): boolean {
    if (!this.key(key)) return false;
    const b = this.buf;
    const p = this.at;
    if (b[p] !== 48 || b[p + 1] !== 0x78 || !isUpperHex(b[p + 2]!) || !isUpperHex(b[p + 3]!) || !this.wordEndsAt(p + 4))
      return false;
    this.at = p + 5;
    return true;
  }
}

interface Address {
  readonly text: string;
  readonly family: 4 | 6;
}

function digits(b: Uint8Array, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const c = b[i]! - 48;
    if (!(c >= 0 && c <= 9)) return -1;
    value = value * 10 + c;
  }
  return value;
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function hourStart(year: number, month: number, day: number, hour: number): number {
  if (year < 1970 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return NaN;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : DAYS[month - 1]!)) return NaN;
  return Date.UTC(year, month - 1, day, hour);
}

function matchesAt(b: Uint8Array, at: number, word: Uint8Array, end: number): boolean {
  if (at + word.length > end) return false;
  for (let k = 0; k < word.length; k++) if (b[at + k] !== word[k]) return false;
  return true;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isUpperHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70);
}

// Printable ASCII: what the strict parser's binary check (control characters, DEL, U+FFFD) lets through, and one byte per character.
function isPrintable(c: number): boolean {
  return c >= 0x20 && c < 0x7f;
}
