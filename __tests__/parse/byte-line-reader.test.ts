import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ByteLineReader } from '../../src/parse/byte-line-reader.js';
import type { ParseContext } from '../../src/parse/packet.js';
import { parseKernelLine, type LineResult } from '../../src/parse/parse-kernel-line.js';
import { readAnnotatedFixture } from './support/annotated-fixture.js';

const ctx: ParseContext = {
  prefix: 'knocktail: ',
  referenceTime: Date.UTC(2026, 10, 25),
  bootTime: Date.UTC(2026, 10, 24),
  zoneOffsetMinutes: () => 0,
  localAddresses: new Set(['198.51.100.1', '2001:db8::1']),
};
const HEAD = '2026-11-24T15:50:22.137638+00:00 vm kernel: ';
const MAC = 'MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00';
const TCP = `${HEAD}knocktail: IN=eth0 OUT= ${MAC} SRC=203.0.113.9 DST=198.51.100.1 LEN=60 TOS=0x00 PREC=0x00 TTL=57 ID=40494 DF PROTO=TCP SPT=53814 DPT=31600 WINDOW=64240 RES=0x00 SYN URGP=0 `;
const FIXTURES = join(process.cwd(), '__tests__', 'fixtures');

// The line as it sits in a chunk: other lines around it, so a read past its end would show.
function readInChunk(reader: ByteLineReader, line: Buffer): LineResult | undefined {
  const chunk = Buffer.concat([
    Buffer.from('2026-11-24T15:50:22Z vm kernel: before\n'),
    line,
    Buffer.from('\n2026 knocktail: IN=9 after\n'),
  ]);
  const start = chunk.indexOf(0x0a) + 1;
  return reader.read(chunk, start, start + line.length);
}

// What the pipeline does with a line: the fast path's answer when it gives one, else the strict parser's. Whether it answered.
function agrees(line: Buffer, context: ParseContext = ctx, reader = new ByteLineReader(context)): boolean {
  const fast = readInChunk(reader, line);
  if (fast !== undefined) expect(fast).toEqual(parseKernelLine(line.toString('utf8'), context));
  return fast !== undefined;
}

describe('ByteLineReader', () => {
  test('reads a TCP knock as the strict parser does, without decoding the line', () => {
    const fast = readInChunk(new ByteLineReader(ctx), Buffer.from(TCP));
    expect(fast).toEqual(parseKernelLine(TCP, ctx));
    expect(fast).toMatchObject({
      kind: 'packet',
      packet: { src: '203.0.113.9', dport: 31600, proto: 'tcp', at: Date.parse('2026-11-24T15:50:22.137Z') },
    });
  });

  test('reads UDP, ICMP echo and IPv6 packets and the uptime rsyslog keeps', () => {
    const lines = [
      `${HEAD}[  103.854386] knocktail: IN=eth0 OUT= ${MAC} SRC=203.0.113.9 DST=198.51.100.1 LEN=34 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=UDP SPT=40000 DPT=8000 LEN=14 `,
      `${HEAD}knocktail: IN=eth0 OUT= SRC=203.0.113.9 DST=198.51.100.1 LEN=84 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=ICMP TYPE=8 CODE=0 ID=7 SEQ=1 `,
      `2026-11-24T15:50:22.1+01:00 vm kernel: knocktail: IN=eth0 OUT= SRC=2001:0db8:0000:0000:0000:0000:0000:0009 DST=2001:0db8:0000:0000:0000:0000:0000:0001 LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=5 PROTO=TCP SPT=1 DPT=22 WINDOW=1 RES=0x00 ACK SYN URGP=0`,
    ];
    const reader = new ByteLineReader(ctx);
    for (const line of lines) {
      const fast = readInChunk(reader, Buffer.from(line));
      expect(fast?.kind).toBe('packet');
      expect(fast).toEqual(parseKernelLine(line, ctx));
    }
  });

  test('answers foreign packets as the strict parser does', () => {
    const reader = new ByteLineReader(ctx);
    for (const [from, to, reason] of [
      ['IN=eth0 OUT= ', 'IN= OUT= ', 'no-in'],
      ['OUT= ', 'OUT=eth1 ', 'out-set'],
      ['DST=198.51.100.1', 'DST=198.51.100.2', 'dst-not-local'],
    ] as const) {
      const line = TCP.replace(from, to);
      expect(readInChunk(reader, Buffer.from(line))).toEqual({ kind: 'foreign', reason });
      expect(parseKernelLine(line, ctx)).toEqual({ kind: 'foreign', reason });
    }
  });

  test('leaves every other shape to the strict parser', () => {
    const reader = new ByteLineReader(ctx);
    const others = [
      TCP.replace(HEAD, 'Nov 24 15:50:22 vm kernel: '),
      TCP.replace('vm kernel:', 'vm knockd:'),
      TCP.replace('DPT=31600', 'DPT=031600'),
      TCP.replace('TTL=57 ', 'TTL=57  '),
      TCP.replace('URGP=0 ', 'URGP=0 UID=0 GID=0 '),
      TCP.replace('SPT=53814 DPT=31600 ', 'SPT=53814 DPT=31600 SEQ=1 ACK=0 '),
      TCP.replace('vm kernel', 'v\u0001m kernel'),
      TCP.replace('IN=eth0', 'IN=ethé'),
      TCP.replace('2026-11-24T15', '2026-11-31T15'),
      TCP.replace('2026-11-24', '2027-11-24'),
      TCP.slice(0, -20),
      `${HEAD}knocktail: IN=eth0 OUT= SRC=203.0.113.5 DST=198.51.100.1 LEN=88 TOS=0x00 PREC=0xC0 TTL=64 ID=1 PROTO=ICMP TYPE=3 CODE=3 [SRC=198.51.100.1 DST=203.0.113.9 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=2 DF PROTO=TCP SPT=22 DPT=7000 WINDOW=1 RES=0x00 SYN URGP=0 ] `,
    ];
    for (const line of others) expect(readInChunk(reader, Buffer.from(line))).toBeUndefined();
  });

  test('agrees with the strict parser on every line of the annotated fixtures', () => {
    const files = readdirSync(FIXTURES).filter((file) => file.endsWith('.log'));
    const cases = files.flatMap((file) => readAnnotatedFixture(join(FIXTURES, file)));
    expect(cases.length).toBeGreaterThan(100);
    let answered = 0;
    for (const c of cases) {
      const fast = readInChunk(new ByteLineReader(c.context), Buffer.from(c.line, 'utf8'));
      if (fast === undefined) continue;
      answered += 1;
      expect({ line: c.lineNumber, result: fast }).toEqual({
        line: c.lineNumber,
        result: parseKernelLine(c.line, c.context),
      });
    }
    expect(answered).toBeGreaterThan(20);
  });

  test('agrees with the strict parser on random genuine lines', () => {
    const reader = new ByteLineReader(ctx);
    let answered = 0;
    fc.assert(
      fc.property(genuineLine, (line) => {
        if (agrees(Buffer.from(line), ctx, reader)) answered += 1;
      }),
      { numRuns: 5000 },
    );
    // Not vacuous: the usual lines reach the fast path, the odd ones mostly do not.
    expect(answered).toBeGreaterThan(500);
  });

  test('agrees with the strict parser on mutated lines', () => {
    const reader = new ByteLineReader(ctx);
    fc.assert(
      fc.property(genuineLine, fc.array(mutation, { minLength: 1, maxLength: 4 }), (line, mutations) => {
        let bytes: Buffer = Buffer.from(line);
        for (const mutate of mutations) bytes = mutate(bytes);
        agrees(bytes, ctx, reader);
      }),
      { numRuns: 20000 },
    );
  });

  test('leaves a prefix outside printable ASCII to the strict parser', () => {
    const odd: ParseContext = { ...ctx, prefix: 'knöcktail: ' };
    expect(
      readInChunk(new ByteLineReader(odd), Buffer.from(TCP.replace('knocktail: ', 'knöcktail: '))),
    ).toBeUndefined();
  });
});

// Mostly what the kernel prints, sometimes something near it: each field is usual 19 times in 20.
const usually = <T>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.oneof({ weight: 19, arbitrary: usual }, { weight: 1, arbitrary: odd });
const number = (max: number): fc.Arbitrary<string> =>
  usually(
    fc.integer({ min: 0, max }).map(String),
    fc.oneof(
      fc.integer({ min: 0, max }).map((n) => `0${n}`),
      fc.integer({ min: max + 1, max: max * 2 + 1 }).map(String),
      fc.constantFrom('', 'x', '1x', '99999999999'),
    ),
  );
const pad = (n: number, width: number): string => String(n).padStart(width, '0');
const header = fc
  .record({
    year: usually(fc.constantFrom(2024, 2026), fc.constantFrom(1969, 2027)),
    month: usually(fc.integer({ min: 1, max: 12 }), fc.constantFrom(0, 13)),
    day: usually(fc.integer({ min: 1, max: 28 }), fc.constantFrom(0, 29, 30, 31, 32)),
    hour: usually(fc.integer({ min: 0, max: 23 }), fc.constant(24)),
    minute: usually(fc.integer({ min: 0, max: 59 }), fc.constant(60)),
    second: usually(fc.integer({ min: 0, max: 60 }), fc.constant(61)),
    fraction: usually(
      fc.constantFrom('', '.1', '.12', '.137638', '.123456789'),
      fc.constantFrom('.1234567890', '.', '.x'),
    ),
    zone: usually(
      fc.constantFrom('Z', '+00:00', '-05:30', '+0100', '-1159'),
      fc.constantFrom('+24:00', '+01:60', '', '+1', '+01:0', 'z'),
    ),
    host: usually(fc.constantFrom('vm', 'h:1', 'x'), fc.constantFrom('', 'h\tx')),
    tag: usually(fc.constant('kernel: '), fc.constantFrom('kernel:', 'kernel:  ', 'kern: ', 'kernelx: ')),
    uptime: usually(
      fc.constantFrom('', '[  103.854386] '),
      fc.constantFrom('[1.5] ', '[x] ', '[  1] ', '[1.5]', '[ 1.2345678901] '),
    ),
  })
  .map(
    (h) =>
      `${pad(h.year, 4)}-${pad(h.month, 2)}-${pad(h.day, 2)}T${pad(h.hour, 2)}:${pad(h.minute, 2)}:${pad(h.second, 2)}${h.fraction}${h.zone} ${h.host} ${h.tag}${h.uptime}`,
  );
const v4 = usually(
  fc
    .tuple(fc.constantFrom('203.0.113.', '198.51.100.'), fc.integer({ min: 0, max: 255 }))
    .map(([net, host]) => `${net}${host}`),
  fc.constantFrom('01.2.3.4', '256.1.1.1', '1.2.3', '1.2.3.4.5', '0x1.2.3.4'),
);
const v6 = usually(
  fc
    .integer({ min: 0, max: 0xffff })
    .map((host) => `2001:0db8:0000:0000:0000:0000:0000:${host.toString(16).padStart(4, '0')}`),
  fc.constantFrom(
    '2001:db8::9',
    '0000:0000:0000:0000:0000:ffff:0000:0001',
    '2001:0DB8:0000:0000:0000:0000:0000:0001',
    'fe80::1%eth0',
    '::',
  ),
);
const hexByte = usually(fc.constantFrom('0x00', '0x0A', '0xC0'), fc.constantFrom('0x0a', '0x0', '0x000', '00x0', 'C0'));
const ipv4Header = fc
  .tuple(
    number(65535),
    hexByte,
    hexByte,
    number(255),
    number(65535),
    usually(fc.constantFrom('', 'DF ', 'DF MF ', 'CE '), fc.constantFrom('FRAG:8 ', 'OPT (01) ', 'DFX ', 'DF  ')),
  )
  .map(([len, tos, prec, ttl, id, flags]) => `LEN=${len} TOS=${tos} PREC=${prec} TTL=${ttl} ID=${id} ${flags}`);
const ipv6Header = fc
  .tuple(
    number(4_294_967_295),
    number(255),
    number(255),
    number(0xfffff),
    usually(fc.constant(''), fc.constantFrom('OPT ( FRAG:0 ID:00000001 ) ', 'TRUNCATED ')),
  )
  .map(([len, tc, hop, flow, ext]) => `LEN=${len} TC=${tc} HOPLIMIT=${hop} FLOWLBL=${flow} ${ext}`);
const flagWords = usually(
  fc
    .subarray(['CWR', 'ECE', 'URG', 'ACK', 'PSH', 'RST', 'SYN', 'FIN', 'AE', 'SYN'])
    .map((words) => words.map((w) => `${w} `).join('')),
  fc.constantFrom('SYNX ', 'syn ', 'SY ', 'URGP '),
);
const tail = usually(fc.constant(''), fc.constantFrom('UID=0 GID=0 ', 'MARK=0x1 ', 'OPT (020405B4) ', 'X '));
const transport = fc.oneof(
  fc
    .tuple(
      number(65535),
      number(65535),
      usually(fc.constant(''), fc.constant('SEQ=1 ACK=0 ')),
      number(65535),
      usually(fc.constant('0x00'), fc.constant('')),
      flagWords,
      number(65535),
      tail,
    )
    .map(
      ([s, d, seq, window, res, flags, urgp, t]) =>
        `PROTO=TCP SPT=${s} DPT=${d} ${seq}WINDOW=${window} RES=${res} ${flags}URGP=${urgp} ${t}`,
    ),
  fc
    .tuple(fc.constantFrom('UDP', 'UDPLITE', 'UDPLITEX'), number(65535), number(65535), number(65535), tail)
    .map(([p, s, d, len, t]) => `PROTO=${p} SPT=${s} DPT=${d} LEN=${len} ${t}`),
  fc
    .tuple(
      fc.constantFrom('ICMP', 'ICMPv6', 'ICMPX'),
      usually(fc.constantFrom(0, 8, 128, 129), fc.constantFrom(3, 256)),
      number(255),
      number(65535),
      number(65535),
      tail,
    )
    .map(([p, type, code, id, seq, t]) => `PROTO=${p} TYPE=${type} CODE=${code} ID=${id} SEQ=${seq} ${t}`),
  fc.constantFrom('PROTO=47 ', 'PROTO=ESP SPI=0x1 ', 'PROTO=SCTP ', 'PROTO= '),
);
const genuineLine = fc
  .record({
    header,
    inName: usually(
      fc.constantFrom('eth0', 'veth3a1f', 'wg-0.x'),
      fc.constantFrom('', '.', '..', 'a/b', 'a:b', 'abcdefghijklmnop', 'ethé'),
    ),
    out: usually(fc.constant(''), fc.constant('eth1')),
    link: usually(
      fc.constantFrom('', `${MAC} `),
      fc.constantFrom('MAC= ', `PHYSIN=br0 ${MAC} `, 'MAC=x MAC=y ', 'NOPE=1 '),
    ),
    family: fc.boolean(),
    src4: v4,
    dst4: usually(fc.constant('198.51.100.1'), fc.constantFrom('198.51.100.2', '2001:db8::1')),
    src6: v6,
    dst6: usually(
      fc.constant('2001:0db8:0000:0000:0000:0000:0000:0001'),
      fc.constantFrom('2001:0db8:0000:0000:0000:0000:0000:0002', '198.51.100.1'),
    ),
    ipv4Header,
    ipv6Header,
    transport,
    trailing: fc.constantFrom('', ' ', '  '),
  })
  .map((l) => {
    const addresses = l.family
      ? `SRC=${l.src4} DST=${l.dst4} ${l.ipv4Header}`
      : `SRC=${l.src6} DST=${l.dst6} ${l.ipv6Header}`;
    return (
      `${l.header}knocktail: IN=${l.inName} OUT=${l.out} ${l.link}${addresses}${l.transport}`.trimEnd() + l.trailing
    );
  });

// Byte-level damage: replace, insert or delete a byte, or cut the line, anywhere.
const BYTES = [
  0x00, 0x09, 0x0d, 0x20, 0x2e, 0x30, 0x31, 0x39, 0x3a, 0x3d, 0x41, 0x46, 0x5b, 0x5d, 0x61, 0x7f, 0x80, 0xc3, 0xff,
];
const mutation: fc.Arbitrary<(line: Buffer) => Buffer> = fc.oneof(
  fc.tuple(fc.nat(), fc.constantFrom(...BYTES)).map(([at, byte]) => (line: Buffer) => {
    const copy = Buffer.from(line);
    if (copy.length > 0) copy[at % copy.length] = byte;
    return copy;
  }),
  fc.tuple(fc.nat(), fc.constantFrom(...BYTES)).map(([at, byte]) => (line: Buffer) => {
    const i = at % (line.length + 1);
    return Buffer.concat([line.subarray(0, i), Buffer.from([byte]), line.subarray(i)]);
  }),
  fc.nat().map((at) => (line: Buffer) => {
    const i = at % Math.max(1, line.length);
    return Buffer.concat([line.subarray(0, i), line.subarray(i + 1)]);
  }),
  fc.nat().map((at) => (line: Buffer) => line.subarray(0, at % (line.length + 1))),
);
