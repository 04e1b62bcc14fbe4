import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readKernelAddress } from '../../src/parse/address-cache.js';
import type { ParseContext } from '../../src/parse/packet.js';
import { MAX_LINE_LENGTH, parseKernelLine, type LineResult } from '../../src/parse/parse-kernel-line.js';
import { readAnnotatedFixture } from './support/annotated-fixture.js';

const ctx: ParseContext = {
  prefix: 'knocktail: ',
  referenceTime: Date.UTC(2026, 10, 25),
  bootTime: Date.UTC(2026, 10, 24),
  zoneOffsetMinutes: () => 0,
};
const HEAD = '2026-11-24T15:50:22.137638+00:00 vm kernel: ';
const FIXTURES = join(process.cwd(), '__tests__', 'fixtures');
const realPackets = [
  'rsyslog-file-format.log',
  'rsyslog-traditional.log',
  'rsyslog-rfc5424.log',
  'kmsg.log',
  'dmesg.log',
]
  .flatMap((file) => readAnnotatedFixture(join(FIXTURES, file)))
  .filter((c) => c.expect['kind'] === 'packet');

function packetOf(result: LineResult) {
  if (result.kind !== 'packet') throw new Error(`expected a packet, got ${JSON.stringify(result)}`);
  return result.packet;
}

describe('parseKernelLine', () => {
  test("looks addresses up through the caller's reader (a pipeline's own memo), never a cache shared by every caller", () => {
    const asked: string[] = [];
    const reader = { normalise: (raw: string) => (asked.push(raw), readKernelAddress(raw)) };
    const line = `${HEAD}knocktail: IN=eth0 OUT= SRC=203.0.113.5 DST=198.51.100.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=7000 WINDOW=64240 RES=0x00 SYN URGP=0 `;
    expect(packetOf(parseKernelLine(line, ctx, reader))).toMatchObject({
      src: '203.0.113.5',
      dst: '198.51.100.1',
      dport: 7000,
    });
    expect(packetOf(parseKernelLine(line, ctx))).toMatchObject({ src: '203.0.113.5' });
    expect(asked).toEqual(['203.0.113.5', '198.51.100.1']);
  });

  test('takes an ICMP error from its outer header and never from the packet it quotes', () => {
    const v4 = packetOf(
      parseKernelLine(
        `${HEAD}knocktail: IN=eth0 OUT= SRC=203.0.113.5 DST=198.51.100.1 LEN=88 TOS=0x00 PREC=0xC0 TTL=64 ID=1 PROTO=ICMP TYPE=3 CODE=3 [SRC=198.51.100.1 DST=203.0.113.9 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=2 DF PROTO=TCP SPT=22 DPT=7000 WINDOW=1 RES=0x00 SYN URGP=0 ] `,
        ctx,
      ),
    );
    expect(v4).toMatchObject({ src: '203.0.113.5', dst: '198.51.100.1', proto: 'icmp', icmpType: 3, len: 88, ttl: 64 });
    expect([v4.sport, v4.dport, v4.flags.size]).toEqual([undefined, undefined, 0]);
    const v6 = packetOf(
      parseKernelLine(
        `${HEAD}knocktail: IN=eth0 OUT= SRC=2001:0db8:0000:0000:0000:0000:0000:0005 DST=2001:0db8:0000:0000:0000:0000:0000:0001 LEN=102 TC=0 HOPLIMIT=64 FLOWLBL=1 PROTO=ICMPv6 TYPE=1 CODE=4 [SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0099 LEN=54 TC=0 HOPLIMIT=64 FLOWLBL=2 PROTO=UDP SPT=7100 DPT=7100 LEN=14 ] `,
        ctx,
      ),
    );
    expect(v6).toMatchObject({
      src: '2001:db8::5',
      dst: '2001:db8::1',
      proto: 'icmpv6',
      icmpType: 1,
      icmpCode: 4,
      family: 6,
    });
    expect(v6.dport).toBeUndefined();
  });

  test('ignores the prefix anywhere but at the start of the kernel message', () => {
    const fields =
      'IN=eth0 OUT= SRC=203.0.113.9 DST=198.51.100.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 PROTO=TCP SPT=1 DPT=7000 WINDOW=1 RES=0x00 SYN URGP=0 ';
    expect(parseKernelLine(`${HEAD}knocktail: ${fields}`, ctx).kind).toBe('packet');
    expect(parseKernelLine(`${HEAD}x knocktail: ${fields}`, ctx)).toEqual({ kind: 'ignored' });
    expect(parseKernelLine(`${HEAD}[  1.000000] usb 1-1: knocktail: ${fields}`, ctx)).toEqual({ kind: 'ignored' });
    expect(parseKernelLine(`2026-11-24T15:50:22Z knocktail: kernel: ${fields}`, ctx)).toEqual({ kind: 'ignored' });
  });

  test('reads the bundled demo log: ordinary kernel lines ignored, the forgery and the cut line rejected', () => {
    const lines = readFileSync(join(process.cwd(), 'examples', 'demo.log'), 'utf8')
      .split('\n')
      .filter((line) => line !== '');
    const results = lines.map((line) => parseKernelLine(line, ctx));
    const kinds = results.map((r) =>
      r.kind === 'ignored' && r.reason
        ? `ignored:${r.reason}`
        : r.kind === 'malformed'
          ? `malformed:${r.reason}`
          : r.kind,
    );
    expect(kinds.slice(-2)).toEqual(['ignored:not-kernel', 'malformed:truncated']);
    const packets = results.flatMap((r) => (r.kind === 'packet' ? [r.packet] : []));
    expect(packets.length).toBe(lines.filter((line) => line.includes(' kernel: knocktail: ')).length - 1);
    expect(new Set(packets.map((p) => p.src))).toEqual(
      new Set(['203.0.113.10', '203.0.113.20', '203.0.113.30', '203.0.113.40', '2001:db8::40']),
    );
    expect(packets.find((p) => p.proto === 'icmpv6')).toMatchObject({
      icmpType: 128,
      src: '2001:db8::40',
      dst: '2001:db8::1',
    });
  });

  test('never throws, whatever the string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 600 }), (line) => {
        expect(() => parseKernelLine(line, ctx)).not.toThrow();
      }),
      { numRuns: 2000 },
    );
  });

  test('never throws on bytes decoded as utf8, nor on real lines with bytes replaced or cut', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        expect(() => parseKernelLine(Buffer.from(bytes).toString('utf8'), ctx)).not.toThrow();
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.constantFrom(...realPackets), fc.nat(), fc.string({ maxLength: 8 }), (c, at, junk) => {
        const cut = at % (c.line.length + 1);
        const line = c.line.slice(0, cut) + junk + c.line.slice(cut + junk.length);
        expect(() => parseKernelLine(line, c.context)).not.toThrow();
        expect(() => parseKernelLine(c.line.slice(0, cut), c.context)).not.toThrow();
      }),
      { numRuns: 2000 },
    );
  });

  test('never gives a packet for a line without the prefix at the start of the kernel message', () => {
    fc.assert(
      fc.property(fc.constantFrom(...realPackets), fc.string({ minLength: 1, maxLength: 20 }), (c, inserted) => {
        fc.pre(!inserted.startsWith('[') && !(inserted + c.context.prefix).startsWith(c.context.prefix));
        const at = c.line.indexOf(c.context.prefix);
        const moved = c.line.slice(0, at) + inserted + c.line.slice(at);
        expect(parseKernelLine(moved, c.context).kind).not.toBe('packet');
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (message) => {
        fc.pre(!message.startsWith('knocktail: ') && !message.startsWith('['));
        for (const line of [
          `${HEAD}${message}`,
          `4,1,1,-;${message}`,
          `[    1.000000] ${message}`,
          `<4>1 2026-11-24T15:50:22Z vm kernel - - - ${message}`,
        ]) {
          expect(parseKernelLine(line, ctx).kind).not.toBe('packet');
        }
      }),
      { numRuns: 1000 },
    );
  });

  test('rejects every over-long line carrying the prefix without reading it', () => {
    const line = `${HEAD}knocktail: IN=${'x'.repeat(MAX_LINE_LENGTH)}`;
    expect(parseKernelLine(line, ctx)).toEqual({ kind: 'malformed', reason: 'too-long' });
    expect(parseKernelLine(`${HEAD}${'x'.repeat(MAX_LINE_LENGTH)}`, ctx)).toEqual({ kind: 'ignored' });
  });
});
