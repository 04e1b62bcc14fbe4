import type { AddressReader } from './address-cache.js';
import { FieldError, Words } from './field-words.js';
import type { Packet, TcpFlag } from './packet.js';

// The fields of a netfilter LOG message, read positionally from "IN=" in the order
// net/netfilter/nf_log_syslog.c prints them. Only the outer header counts: an ICMP error
// quotes the offending packet in "[ … ]", and those SRC=/DPT= are whatever a sender chose.
export type NetfilterFields = Omit<Packet, 'at' | 'prefix'>;

export type FieldsResult =
  /** `out`: the OUT= interface ("" on the INPUT path). */
  | { readonly ok: true; readonly fields: NetfilterFields; readonly out: string }
  /** `field` and `detail` when known: `DPT` and `leading zero`. */
  | {
      readonly ok: false;
      readonly reason: 'bad-field' | 'truncated';
      readonly field?: string;
      readonly detail?: string;
    };

const LINK_KEYS = new Set(['PHYSIN', 'PHYSOUT', 'MAC', 'MACSRC', 'MACDST', 'VPROTO', 'VID', 'MACPROTO', 'TUNNEL']);
const TCP_FLAGS = new Set<string>(['CWR', 'ECE', 'URG', 'ACK', 'PSH', 'RST', 'SYN', 'FIN']);
const ECHO_TYPES: Record<string, readonly number[]> = { ICMP: [0, 8], ICMPv6: [128, 129] };
const MAX_U32 = 4_294_967_295;
const EXTENSION_WORD =
  /^(?:OPT|\(|\)|FRAG:\d{1,5}|INCOMPLETE|ID:[0-9a-f]{8}|AH|ESP|SPI=0x[0-9a-f]{1,8}|\[\d{1,5}|bytes\]|\))$/;

/**
 * Who printed the fields: the kernel's LOG target (nf_log_syslog.c), or ulogd2's PRINTPKT for
 * an NFLOG packet, which differs in three places: `TOS=HH` (no 0x), no TCP `RES=`, and `SEQ=`
 * `ACK=` always. Only the ulogd source reads its lines with `ulogd`.
 */
export type FieldsDialect = 'kernel' | 'ulogd';

/** Read the fields starting at `start` ("IN=…") up to the end of `text`. Never throws. */
export function readNetfilterFields(
  text: string,
  start: number,
  addresses: AddressReader,
  dialect: FieldsDialect = 'kernel',
): FieldsResult {
  let end = text.length;
  while (end > start && text.charCodeAt(end - 1) === 32) end--;
  const words = new Words(text, start, end);
  try {
    const read = walk(words, addresses, dialect === 'ulogd');
    return { ok: true, fields: read.fields, out: read.out };
  } catch (error) {
    if (!(error instanceof FieldError)) return { ok: false, reason: 'bad-field' };
    // A failure on the last word of a line that lost its trailing space is a cut-off line.
    const cut = error.at >= end || (words.isLastWord(error.at) && end === text.length);
    if (cut) return { ok: false, reason: 'truncated' };
    const field = words.keyAt(error.at);
    if (error.detail === undefined) return { ok: false, reason: 'bad-field' };
    return { ok: false, reason: 'bad-field', ...(field === undefined ? {} : { field }), detail: error.detail };
  }
}

// An interface name as the kernel allows it (dev_valid_name): 1-15 bytes, not "." or "..",
// no '/', ':' or white space. The empty name (a locally generated packet) is checked later.
const INTERFACE = /^(?!\.\.?$)[^/:\s]{1,15}$/;

function walk(words: Words, addresses: AddressReader, ulogd: boolean): { fields: NetfilterFields; out: string } {
  const inAt = words.position;
  const inName = words.value('IN');
  if (inName !== '' && (!INTERFACE.test(inName) || Buffer.byteLength(inName) > 15))
    throw new FieldError(inAt, 'not an interface name');
  const out = words.value('OUT');
  while (!words.done() && !words.startsWith('SRC=')) {
    const word = words.peek() ?? '';
    const eq = word.indexOf('=');
    if (eq < 0 || !LINK_KEYS.has(word.slice(0, eq))) throw new FieldError(words.position);
    words.skip();
  }
  const srcAt = words.position;
  const srcText = words.value('SRC');
  const src = addresses.normalise(srcText);
  if (!src.ok) throw new FieldError(srcAt, src.detail);
  const dstAt = words.position;
  const dst = addresses.normalise(words.value('DST'));
  if (!dst.ok) throw new FieldError(dstAt, dst.detail);
  if (src.address.family !== dst.address.family) throw new FieldError(dstAt, 'other family than SRC');
  const ip = src.address.family === 6 ? readIpv6Header(words) : readIpv4Header(words, ulogd);
  const protoAt = words.position;
  const proto = words.value('PROTO');
  const transport = readTransport(words, proto, ip.fragment, protoAt, ulogd);
  if (words.optionalValue('UID') !== undefined) words.skipValue('GID');
  words.optionalValue('MARK');
  if (!words.done()) throw new FieldError(words.position);
  const fields: NetfilterFields = {
    in: inName,
    family: src.address.family,
    src: src.address.text,
    dst: dst.address.text,
    proto: proto.toLowerCase(),
    len: ip.len,
    ttl: ip.ttl,
    ...transport,
    flags: transport.flags ?? new Set(),
  };
  return { fields, out };
}

interface IpHeader {
  readonly len: number;
  readonly ttl: number;
  /** A non-first fragment: the kernel prints no transport header for it. */
  readonly fragment: boolean;
}

function readIpv4Header(words: Words, ulogd: boolean): IpHeader {
  const len = words.number('LEN', 65535);
  words.hex('TOS', ulogd);
  words.hex('PREC');
  const ttl = words.number('TTL', 255);
  words.number('ID', 65535);
  let fragment = false;
  while (words.is('DF') || words.is('MF') || words.is('CE')) words.skip();
  if (words.startsWith('FRAG:')) fragment = Number(words.take().slice(5)) > 0;
  if (words.is('OPT')) skipHexOptions(words);
  return { len, ttl, fragment };
}

// IPv6 extension headers print free-form words ("OPT ( FRAG:0 ID:… ) ") before PROTO=.
function readIpv6Header(words: Words): IpHeader {
  const len = words.number('LEN', MAX_U32);
  // The kernel prints both with %u (nf_log_syslog.c): anything else is no line it wrote.
  words.number('TC', 255);
  const ttl = words.number('HOPLIMIT', 255);
  words.number('FLOWLBL', 0xfffff);
  let fragment = false;
  // With --log-ip-options each extension header is wrapped as "OPT ( … )": OPT, then "(", then ")".
  let group = 'none' as 'none' | 'opt' | 'open';
  for (let k = 0; k < 32; k++) {
    if (words.done() || words.startsWith('PROTO=')) break;
    if (words.is('TRUNCATED') || words.is('Unknown')) throw new FieldError(words.position);
    const wordAt = words.position;
    const word = words.take();
    // dump_ipv6_packet's own words (OPT ( FRAG:… INCOMPLETE ID:… AH ESP SPI=0x… [N bytes] ) ) and nothing else.
    if (!EXTENSION_WORD.test(word))
      throw new FieldError(wordAt, word.includes('=') ? 'repeated field' : 'not an extension header');
    const next: typeof group | undefined =
      word === 'OPT'
        ? group === 'none'
          ? 'opt'
          : undefined
        : word === '('
          ? group === 'opt'
            ? 'open'
            : undefined
          : word === ')'
            ? group === 'open'
              ? 'none'
              : undefined
            : group === 'opt'
              ? undefined
              : group;
    if (next === undefined) throw new FieldError(wordAt, 'not an extension header');
    group = next;
    if (word.startsWith('FRAG:') && Number(word.slice(5)) > 0) fragment = true;
  }
  if (group !== 'none') throw new FieldError(words.position, 'OPT ( not closed before it');
  return { len, ttl, fragment };
}

function skipHexOptions(words: Words): void {
  words.skip();
  const at = words.position;
  if (!/^\([0-9A-F]*\)$/.test(words.take())) throw new FieldError(at);
}

type Transport = Pick<NetfilterFields, 'sport' | 'dport' | 'icmpType' | 'icmpCode'> & { flags?: ReadonlySet<TcpFlag> };

function readTransport(words: Words, proto: string, fragment: boolean, protoAt: number, ulogd: boolean): Transport {
  if (fragment) return {};
  if (words.is('INCOMPLETE')) throw new FieldError(words.position);
  switch (proto) {
    case 'TCP':
      return readTcp(words, ulogd);
    case 'UDP':
    case 'UDPLITE': {
      const sport = words.number('SPT', 65535);
      const dport = words.number('DPT', 65535);
      words.number('LEN', 65535);
      return { sport, dport };
    }
    case 'ICMP':
    case 'ICMPv6':
      return readIcmp(words, proto);
    case 'AH':
    case 'ESP':
      words.skipValue('SPI');
      return {};
    default:
      if (!/^\d{1,3}$/.test(proto) || Number(proto) > 255) throw new FieldError(protoAt);
      return {};
  }
}

function readTcp(words: Words, ulogd: boolean): Transport {
  const sport = words.number('SPT', 65535);
  const dport = words.number('DPT', 65535);
  if (ulogd || words.startsWith('SEQ=')) {
    words.number('SEQ', MAX_U32);
    words.number('ACK', MAX_U32);
  }
  words.number('WINDOW', 65535);
  if (!ulogd) words.skipValue('RES');
  const flags = new Set<TcpFlag>();
  for (;;) {
    const word = words.startsWith('URGP=') ? undefined : words.peek();
    if (word === undefined || !(TCP_FLAGS.has(word) || word === 'AE')) break;
    if (word !== 'AE') flags.add(word as TcpFlag); // AE (accurate ECN) is newer than the Packet type
    words.skip();
  }
  words.number('URGP', 65535);
  if (words.is('OPT')) skipHexOptions(words);
  return { sport, dport, flags };
}

function readIcmp(words: Words, proto: 'ICMP' | 'ICMPv6'): Transport {
  const icmpType = words.number('TYPE', 255);
  const icmpCode = words.number('CODE', 255);
  if (words.is('INCOMPLETE')) throw new FieldError(words.position);
  if (ECHO_TYPES[proto]!.includes(icmpType)) {
    words.number('ID', 65535);
    words.number('SEQ', 65535);
  }
  // At most one of these follows; each is consumed only when present.
  if (words.optionalValue('PARAMETER') === undefined && words.optionalValue('POINTER') === undefined)
    words.optionalValue('GATEWAY');
  if (words.startsWith('[')) {
    // The quoted packet is skipped whole, never read: its addresses and ports are not ours.
    const quote = words.take();
    if (!quote.endsWith(']')) while (words.take() !== ']') continue;
  }
  words.optionalValue('MTU');
  return { icmpType, icmpCode };
}
