import type { Family } from '../address.js';
import type { AddressCache } from './address-cache.js';
import type { TcpFlag } from './packet.js';

// The fields of a netfilter LOG message, read positionally from "IN=" in the order
// net/netfilter/nf_log_syslog.c prints them. Only the outer header counts: an ICMP error
// quotes the offending packet in "[ … ]", and those SRC=/DPT= are whatever a sender chose.
export interface NetfilterFields {
  readonly in: string;
  readonly family: Family;
  readonly src: string;
  readonly dst: string;
  readonly proto: string;
  readonly sport?: number;
  readonly dport?: number;
  readonly flags: ReadonlySet<TcpFlag>;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  readonly len?: number;
  readonly ttl?: number;
}

export type FieldsResult =
  | { readonly ok: true; readonly fields: NetfilterFields }
  | { readonly ok: false; readonly reason: 'bad-field' | 'truncated' };

const LINK_KEYS = new Set(['PHYSIN', 'PHYSOUT', 'MAC', 'MACSRC', 'MACDST', 'VPROTO', 'VID', 'MACPROTO', 'TUNNEL']);
const TCP_FLAGS = new Set<string>(['CWR', 'ECE', 'URG', 'ACK', 'PSH', 'RST', 'SYN', 'FIN']);
const IP_FLAGS = new Set(['CE', 'DF', 'MF']);
const ECHO_TYPES: Record<string, readonly number[]> = { ICMP: [0, 8], ICMPv6: [128, 129] };
const MAX_U32 = 4_294_967_295;

// Thrown only inside this file, to leave the positional walk from any depth; never escapes.
class FieldError {
  constructor(readonly at: number) {}
}

class Words {
  private index = 0;

  constructor(private readonly words: readonly string[], private readonly count: number) {}

  get position(): number {
    return this.index;
  }

  peek(): string | undefined {
    return this.index < this.count ? this.words[this.index] : undefined;
  }

  take(): string {
    if (this.index >= this.count) throw new FieldError(this.index);
    return this.words[this.index++]!;
  }

  skip(): void {
    this.index++;
  }

  /** The value (possibly empty) of the next word, which must be `KEY=value`. */
  value(key: string): string {
    const word = this.take();
    if (word.charCodeAt(key.length) !== 61 || !word.startsWith(key)) throw new FieldError(this.index - 1);
    return word.slice(key.length + 1);
  }

  number(key: string, max: number): number {
    const text = this.value(key);
    if (text.length === 0 || text.length > 10) throw new FieldError(this.index - 1);
    let n = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i) - 48;
      if (c < 0 || c > 9) throw new FieldError(this.index - 1);
      n = n * 10 + c;
    }
    if (n > max) throw new FieldError(this.index - 1);
    return n;
  }

  optionalValue(key: string): string | undefined {
    const word = this.peek();
    return word !== undefined && word.startsWith(`${key}=`) ? this.value(key) : undefined;
  }

  done(): boolean {
    return this.index >= this.count;
  }
}

/** Read the fields starting at `start` ("IN=…") up to the end of `text`. Never throws. */
export function readNetfilterFields(text: string, start: number, addresses: AddressCache): FieldsResult {
  const parts = text.slice(start).split(' ');
  let count = parts.length;
  while (count > 0 && parts[count - 1] === '') count--;
  const words = new Words(parts, count);
  try {
    return { ok: true, fields: walk(words, addresses) };
  } catch (error) {
    if (!(error instanceof FieldError)) return { ok: false, reason: 'bad-field' };
    // A failure on the last word of a line that lost its trailing space is a cut-off line.
    const cut = error.at >= count - 1 && !text.endsWith(' ');
    return { ok: false, reason: cut || error.at >= count ? 'truncated' : 'bad-field' };
  }
}

function walk(words: Words, addresses: AddressCache): NetfilterFields {
  const inName = words.value('IN');
  words.value('OUT');
  for (let word = words.peek(); word !== undefined && !word.startsWith('SRC='); word = words.peek()) {
    const eq = word.indexOf('=');
    if (eq < 0 || !LINK_KEYS.has(word.slice(0, eq))) throw new FieldError(words.position);
    words.skip();
  }
  const srcAt = words.position;
  const srcText = words.value('SRC');
  const src = addresses.normalise(srcText);
  const dst = addresses.normalise(words.value('DST'));
  if (!src || !dst || src.family !== dst.family) throw new FieldError(srcAt);
  // The header layout follows what the kernel printed; an IPv4-mapped v6 address still has a v6 header.
  const ip = srcText.includes(':') ? readIpv6Header(words) : readIpv4Header(words);
  const proto = words.value('PROTO');
  const transport = readTransport(words, proto, ip.fragment);
  if (words.optionalValue('UID') !== undefined) words.value('GID');
  words.optionalValue('MARK');
  if (!words.done()) throw new FieldError(words.position);
  return {
    in: inName, family: src.family, src: src.text, dst: dst.text, proto: proto.toLowerCase(),
    len: ip.len, ttl: ip.ttl, ...transport, flags: transport.flags ?? new Set(),
  };
}

interface IpHeader {
  readonly len: number;
  readonly ttl: number;
  /** A non-first fragment: the kernel prints no transport header for it. */
  readonly fragment: boolean;
}

function readIpv4Header(words: Words): IpHeader {
  const len = words.number('LEN', 65535);
  words.value('TOS');
  words.value('PREC');
  const ttl = words.number('TTL', 255);
  words.number('ID', 65535);
  let fragment = false;
  for (let word = words.peek(); word !== undefined && IP_FLAGS.has(word); word = words.peek()) words.skip();
  const frag = words.peek();
  if (frag?.startsWith('FRAG:')) {
    fragment = Number(frag.slice(5)) > 0;
    words.skip();
  }
  if (words.peek() === 'OPT') skipHexOptions(words);
  return { len, ttl, fragment };
}

// IPv6 extension headers print free-form words ("OPT ( FRAG:0 ID:… ) ") before PROTO=.
function readIpv6Header(words: Words): IpHeader {
  const len = words.number('LEN', MAX_U32);
  words.value('TC');
  const ttl = words.number('HOPLIMIT', 255);
  words.value('FLOWLBL');
  let fragment = false;
  for (let k = 0; k < 32; k++) {
    const word = words.peek();
    if (word === undefined || word.startsWith('PROTO=')) break;
    if (word === 'TRUNCATED' || word === 'Unknown') throw new FieldError(words.position);
    if (word.startsWith('FRAG:') && Number(word.slice(5)) > 0) fragment = true;
    words.skip();
  }
  return { len, ttl, fragment };
}

function skipHexOptions(words: Words): void {
  words.skip();
  const hex = words.take();
  if (!/^\([0-9A-F]*\)$/.test(hex)) throw new FieldError(words.position - 1);
}

type Transport = Pick<NetfilterFields, 'sport' | 'dport' | 'icmpType' | 'icmpCode'> & { flags?: ReadonlySet<TcpFlag> };

function readTransport(words: Words, proto: string, fragment: boolean): Transport {
  if (fragment) return {};
  if (words.peek() === 'INCOMPLETE') throw new FieldError(words.position);
  switch (proto) {
    case 'TCP': return readTcp(words);
    case 'UDP':
    case 'UDPLITE': {
      const sport = words.number('SPT', 65535);
      const dport = words.number('DPT', 65535);
      words.number('LEN', 65535);
      return { sport, dport };
    }
    case 'ICMP':
    case 'ICMPv6': return readIcmp(words, proto);
    case 'AH':
    case 'ESP':
      words.value('SPI');
      return {};
    default:
      if (!/^\d{1,3}$/.test(proto) || Number(proto) > 255) throw new FieldError(words.position - 1);
      return {};
  }
}

function readTcp(words: Words): Transport {
  const sport = words.number('SPT', 65535);
  const dport = words.number('DPT', 65535);
  if (words.optionalValue('SEQ') !== undefined) words.number('ACK', MAX_U32);
  words.number('WINDOW', 65535);
  words.value('RES');
  const flags = new Set<TcpFlag>();
  for (let word = words.peek(); word !== undefined && (TCP_FLAGS.has(word) || word === 'AE'); word = words.peek()) {
    if (word !== 'AE') flags.add(word as TcpFlag); // AE (accurate ECN) is newer than the Packet type
    words.skip();
  }
  words.number('URGP', 65535);
  if (words.peek() === 'OPT') skipHexOptions(words);
  return { sport, dport, flags };
}

function readIcmp(words: Words, proto: 'ICMP' | 'ICMPv6'): Transport {
  const icmpType = words.number('TYPE', 255);
  const icmpCode = words.number('CODE', 255);
  if (words.peek() === 'INCOMPLETE') throw new FieldError(words.position);
  if (ECHO_TYPES[proto]!.includes(icmpType)) {
    words.number('ID', 65535);
    words.number('SEQ', 65535);
  }
  words.optionalValue('PARAMETER') ?? words.optionalValue('POINTER') ?? words.optionalValue('GATEWAY');
  const quote = words.peek();
  if (quote?.startsWith('[')) {
    // The quoted packet is skipped whole, never read: its addresses and ports are not ours.
    words.skip();
    if (!quote.endsWith(']')) while (words.take() !== ']') continue;
  }
  words.optionalValue('MTU');
  return { icmpType, icmpCode };
}
