// Hostile log lines for the fuzzer (bench/fuzz.ts) and its property test: mutations of the
// real captured fixtures and lines from a small grammar of the kernel LOG format, each with
// the sources it may legitimately open for. Addresses: this host is 198.51.100.1 and
// 2001:db8:77::1; genuine knockers are 203.0.113.0/24 and 2001:db8:600d::/48; everything
// hostile uses 198.51.100.0/24 and 2001:db8:bad::/48 (no single mutation turns one into the other).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const PREFIX = 'knocktail: ';
export const LOCAL = ['198.51.100.1', '2001:db8:77::1'] as const;
export const KNOCK_PORT = 31600;

/** A small seeded PRNG (mulberry32): the same seed gives the same lines. */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** Every log line of the annotated fixtures (real captures and hand-made), with the fuzz prefix and hostile addresses. */
export function loadFixtureTemplates(fixturesDir: string): string[] {
  const lines: string[] = [];
  for (const name of readdirSync(fixturesDir)
    .filter((file) => file.endsWith('.log'))
    .sort()) {
    for (const line of readFileSync(join(fixturesDir, name), 'utf8').split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      lines.push(
        line
          .replace(/ktcap-[0-9a-f]+: /g, PREFIX)
          .replaceAll('203.0.113.', '198.51.100.')
          .replaceAll('2001:0db8:0077:0000:0000:0000:0000:0002', '2001:0db8:0bad:0000:0000:0000:0000:0002')
          .replaceAll('2001:0db8:0077:0000:0000:0000:0000:0009', '2001:0db8:0bad:0000:0000:0000:0000:0009'),
      );
    }
  }
  return lines;
}

const HEADERS: readonly ((r: Random) => string)[] = [
  () => '2026-11-24T15:50:22.137638+00:00 vm kernel: ',
  () => '2026-11-24T15:50:22.137638+00:00 vm kernel: [  103.854386] ',
  () => '2026-11-24T15:50:22Z vm kernel: ',
  () => 'Nov 24 15:50:22 vm kernel: ',
  () => '<4>Nov 24 15:50:22 vm kernel: ',
  () => '<4>1 2026-11-24T15:50:22.137638+00:00 vm kernel - - - ',
  () => '<4>1 2026-11-24T15:50:22.137638+00:00 vm kernel - - [meta sequenceId="1"] \ufeff',
  (r) => `4,${r.int(100000)},103854386,-;`,
  () => '[  103.854386] ',
  // Userspace pretending: never kernel lines.
  () => '2026-11-24T15:50:22.137638+00:00 vm logger: ',
  () => '2026-11-24T15:50:22.137638+00:00 vm kernel[42]: ',
  () => '<12>1 2026-11-24T15:50:22.137638+00:00 vm kernel - - - ',
  () => '<13>Nov 24 15:50:22 vm kernel: ',
  (r) => `12,${r.int(100000)},103854386,-;`,
  () => '2026-11-24T15:50:22.137638+00:00 vm kernel: audit: ',
  () => '2031-01-01T00:00:00.000000+00:00 vm kernel: ',
];

const HOSTILE_V4 = (r: Random): string => `198.51.100.${2 + r.int(250)}`;
const HOSTILE_V6 = (r: Random): string =>
  `2001:0db8:0bad:0000:0000:0000:${r.int(0x10000).toString(16).padStart(4, '0')}:${(1 + r.int(0xfffe)).toString(16).padStart(4, '0')}`;

// Field values from the grammar, valid and not: what a hostile writer or a broken kernel could put there.
const IN_VALUES = ['eth0', 'eth0', 'ens3', '', 'lo', 'eth0-and-then-some', '../x', 'a:b', 'veth0'];
const OUT_VALUES = ['', '', '', 'eth1', 'lo'];
const PORTS = (r: Random): string =>
  r.pick([
    String(KNOCK_PORT),
    String(KNOCK_PORT),
    '031600',
    '0',
    '65536',
    '-1',
    '99999999999',
    String(KNOCK_PORT + 1),
    '7000',
    '',
  ]);
const DST_V4 = (r: Random): string =>
  r.pick([LOCAL[0], LOCAL[0], '198.51.100.2', '8.8.8.8', '127.0.0.1', '198.51.100.001', '::ffff:198.51.100.1']);
const SRC_V4 = (r: Random): string =>
  r.pick([
    HOSTILE_V4(r),
    HOSTILE_V4(r),
    '0000:0000:0000:0000:0000:ffff:c633:6405',
    '198.51.100.07',
    '0x7f.1',
    '198.51.100.256',
    `${HOSTILE_V4(r)}%eth0`,
  ]);
const DST_V6 = (r: Random): string =>
  r.pick([
    '2001:0db8:0077:0000:0000:0000:0000:0001',
    '2001:0db8:0077:0000:0000:0000:0000:0002',
    'fe80:0000:0000:0000:0000:0000:0000:0001%eth0',
  ]);

function grammarMessage(r: Random): string {
  const v6 = r.chance(0.3);
  const src = v6 ? r.pick([HOSTILE_V6(r), '0000:0000:0000:0000:0000:0000:c633:6405', `${HOSTILE_V6(r)}%2`]) : SRC_V4(r);
  const dst = v6 ? DST_V6(r) : DST_V4(r);
  const link = r.chance(0.5) ? 'MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 ' : '';
  const ip = v6
    ? `LEN=${r.pick(['60', '060', '70000'])} TC=0 HOPLIMIT=64 FLOWLBL=1 `
    : `LEN=${r.pick(['60', '060', '70000'])} TOS=0x00 PREC=0x00 TTL=${r.pick(['64', '256', '064'])} ID=${r.int(65536)} DF `;
  const proto = r.pick(['TCP', 'TCP', 'UDP', 'ICMP', 'GRE', '47']);
  let transport = '';
  if (proto === 'TCP')
    transport = `SPT=${PORTS(r)} DPT=${PORTS(r)} WINDOW=64240 RES=0x00 ${r.pick(['SYN ', 'SYN ', 'ACK SYN ', 'RST ', ''])}URGP=0 `;
  else if (proto === 'UDP') transport = `SPT=${PORTS(r)} DPT=${PORTS(r)} LEN=20 `;
  else if (proto === 'ICMP')
    transport = `TYPE=${r.pick(['8', '3'])} CODE=0 ${r.chance(0.5) ? 'ID=1 SEQ=1 ' : `[SRC=${HOSTILE_V4(r)} DST=${LOCAL[0]} LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=1 DPT=${KNOCK_PORT} WINDOW=1 RES=0x00 SYN URGP=0 ] `}`;
  return `IN=${r.pick(IN_VALUES)} OUT=${r.pick(OUT_VALUES)} ${link}SRC=${src} DST=${dst} ${ip}PROTO=${proto} ${transport}`;
}

/** A line from the grammar: any header, usually our prefix, fields valid and not; SRC= always hostile. */
export function grammarLine(r: Random): string {
  const header = r.pick(HEADERS)(r);
  const prefix = r.chance(0.9) ? PREFIX : r.pick(['knocktail:', 'KNOCKTAIL: ', '[UFW BLOCK] ', `x ${PREFIX}`]);
  return `${header}${prefix}${grammarMessage(r)}`;
}

/** A genuine INPUT knock on this host by `src` (one of the genuine pool), in a kernel header format. */
export function genuineLine(r: Random): { line: string; src: string } {
  const header = r.pick(HEADERS.slice(0, 9))(r);
  if (r.chance(0.2)) {
    const src = `2001:db8:600d::${(1 + r.int(0xfffe)).toString(16)}`;
    const expanded = `2001:0db8:600d:0000:0000:0000:0000:${src.split('::')[1]!.padStart(4, '0')}`;
    return {
      src,
      line: `${header}${PREFIX}IN=eth0 OUT= SRC=${expanded} DST=2001:0db8:0077:0000:0000:0000:0000:0001 LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=1 PROTO=TCP SPT=${1024 + r.int(60000)} DPT=${KNOCK_PORT} WINDOW=64800 RES=0x00 SYN URGP=0 `,
    };
  }
  const src = `203.0.113.${1 + r.int(254)}`;
  return {
    src,
    line: `${header}${PREFIX}IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=${src} DST=${LOCAL[0]} LEN=60 TOS=0x00 PREC=0x00 TTL=57 ID=${r.int(65536)} DF PROTO=TCP SPT=${1024 + r.int(60000)} DPT=${KNOCK_PORT} WINDOW=64240 RES=0x00 SYN URGP=0 `,
  };
}

export const MUTATIONS = [
  'bit-flip',
  'truncate',
  'swap-fields',
  'duplicate-key',
  'reorder',
  'nested-brackets',
  'odd-prefix',
  'header-swap',
  'invalid-utf8',
  'oversized',
  'control-bytes',
] as const;
export type Mutation = (typeof MUTATIONS)[number];

const NESTED = `[SRC=198.51.100.200 DST=${LOCAL[0]} LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=1 DPT=${KNOCK_PORT} WINDOW=1 RES=0x00 SYN URGP=0 ] `;

function words(text: string): string[] {
  return text.split(' ');
}

/** One mutation of `line` (as bytes: bit flips and invalid UTF-8 are byte-level). Never adds a '\n'. */
export function mutate(line: Buffer, kind: Mutation, r: Random): Buffer {
  const text = line.toString('latin1');
  switch (kind) {
    case 'bit-flip': {
      const out = Buffer.from(line);
      for (let k = 1 + r.int(3); k > 0 && out.length > 0; k--) out[r.int(out.length)]! ^= 1 << r.int(8);
      return out;
    }
    case 'truncate':
      return line.subarray(0, r.int(line.length + 1));
    case 'swap-fields': {
      const w = words(text);
      const i = r.int(w.length);
      const j = r.int(w.length);
      [w[i], w[j]] = [w[j]!, w[i]!];
      return Buffer.from(w.join(' '), 'latin1');
    }
    case 'duplicate-key': {
      const w = words(text);
      const keyed = w.filter((word) => word.includes('='));
      const pick = keyed.length > 0 ? r.pick(keyed) : 'DPT=31600';
      // Sometimes a second, different value for the same key.
      const copy = r.chance(0.5)
        ? pick
        : `${pick.split('=')[0]}=${r.pick([String(KNOCK_PORT), LOCAL[0], '198.51.100.9', ''])}`;
      w.splice(r.int(w.length + 1), 0, copy);
      return Buffer.from(w.join(' '), 'latin1');
    }
    case 'reorder': {
      const w = words(text);
      for (let k = 0; k < 3; k++) {
        const i = r.int(w.length);
        const [moved] = w.splice(i, 1);
        w.splice(r.int(w.length + 1), 0, moved!);
      }
      return Buffer.from(w.join(' '), 'latin1');
    }
    case 'nested-brackets': {
      const at = r.int(text.length + 1);
      const nest = r.chance(0.5) ? NESTED : `[${NESTED}${NESTED.slice(1)}`;
      return Buffer.from(`${text.slice(0, at)}${nest}${text.slice(at)}`, 'latin1');
    }
    case 'odd-prefix': {
      const at = r.int(text.length + 1);
      return Buffer.from(`${text.slice(0, at)}${PREFIX}${r.chance(0.5) ? 'IN=eth0 ' : ''}${text.slice(at)}`, 'latin1');
    }
    case 'header-swap': {
      const at = text.indexOf(PREFIX);
      const body = at >= 0 ? text.slice(at) : text;
      return Buffer.from(`${r.pick(HEADERS)(r)}${body}`, 'latin1');
    }
    case 'invalid-utf8': {
      const at = r.int(line.length + 1);
      const junk = Buffer.from(
        r.pick([[0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf]]),
      );
      return Buffer.concat([line.subarray(0, at), junk, line.subarray(at)]);
    }
    case 'oversized': {
      // A logger line whose tail, after the reader's limit, is a perfect knock from a hostile source.
      const head = Buffer.from(`2026-11-24T15:50:22.137638+00:00 vm logger: ${'A'.repeat(8192 + r.int(9000))}`);
      return Buffer.concat([head, line]);
    }
    case 'control-bytes': {
      const at = r.int(line.length + 1);
      return Buffer.concat([
        line.subarray(0, at),
        Buffer.from([r.pick([0x00, 0x0d, 0x09, 0x1b, 0x7f, 0x0b])]),
        line.subarray(at),
      ]);
    }
  }
}

export interface FuzzLine {
  readonly bytes: Buffer;
  /** The source this line may open for (genuine knocks only). */
  readonly genuineSrc?: string;
  readonly origin: 'genuine' | 'grammar' | Mutation;
}

/** The next fuzz line: 2 % genuine knocks, 28 % grammar lines, 70 % mutated fixtures (1-3 mutations). */
export function nextLine(r: Random, templates: readonly string[]): FuzzLine {
  const roll = r.next();
  if (roll < 0.02) {
    const { line, src } = genuineLine(r);
    return { bytes: Buffer.from(line), genuineSrc: src, origin: 'genuine' };
  }
  if (roll < 0.3) return { bytes: noNewline(Buffer.from(grammarLine(r))), origin: 'grammar' };
  let bytes: Buffer = Buffer.from(r.chance(0.5) ? r.pick(templates) : grammarLine(r));
  let origin: Mutation = 'bit-flip';
  for (let k = 1 + r.int(3); k > 0; k--) {
    origin = r.pick(MUTATIONS);
    // Mutations of a genuine line too: what stays genuine may open, for its own (hostile) source only.
    bytes = mutate(bytes, origin, r);
  }
  return { bytes: noNewline(bytes), origin };
}

// A '\n' would make two lines of one; the fuzzer accounts per line.
function noNewline(bytes: Buffer): Buffer {
  if (!bytes.includes(0x0a)) return bytes;
  const out = Buffer.from(bytes);
  for (let i = 0; i < out.length; i++) if (out[i] === 0x0a) out[i] = 0x0b;
  return out;
}
