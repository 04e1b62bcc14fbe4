import { describe, expect, test } from '@jest/globals';
import { join } from 'node:path';
import type { ParseContext } from '../../src/parse/packet.js';
import { parseKernelLine } from '../../src/parse/parse-kernel-line.js';
import { createCounters } from '../../src/app/counters.js';
import { Pipeline } from '../../src/app/pipeline.js';
import { readAnnotatedFixture } from './support/annotated-fixture.js';

// The lines of knocktail's own ulogd2 (source "nflog") are read only when the context says so,
// and only they are: the trust rule rests on that file being written by ulogd alone.
const captured = readAnnotatedFixture(join(process.cwd(), '__tests__', 'fixtures', 'ulogd-logemu.log'));
const packets = captured.filter((c) => c.expect['kind'] === 'packet');
const ulogd: ParseContext = packets[0]!.context;
const syslogContext: ParseContext = { ...ulogd, header: 'syslog' };
const prefix = ulogd.prefix;

describe('lines of knocktail ulogd2 (NFLOG → PRINTPKT → LOGEMU)', () => {
  test('the real capture has tcp, udp and echo packets of both families', () => {
    expect(new Set(packets.map((c) => `${String(c.expect['proto'])}${String(c.expect['family'])}`))).toEqual(
      new Set(['tcp4', 'udp4', 'icmp4', 'tcp6', 'udp6', 'icmpv66']),
    );
  });

  test('read as syslog (sources "file" and "kmsg"), no ulogd line is a packet: they name no kernel sender', () => {
    for (const c of packets) expect(parseKernelLine(c.line, syslogContext).kind).not.toBe('packet');
  });

  test('read as ulogd, a kernel line from rsyslog is no packet: that file holds ulogd lines only', () => {
    const rsyslog = `Dec  6 06:26:31 vm kernel: ${prefix}IN=eth0 OUT= MAC= SRC=198.51.100.2 DST=198.51.100.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=4000 DPT=7000 WINDOW=64240 RES=0x00 SYN URGP=0 `;
    expect(parseKernelLine(rsyslog, ulogd).kind).toBe('ignored');
    expect(parseKernelLine(`2026-12-06T06:26:31.000000+00:00 vm kernel: ${prefix}IN=eth0 OUT=`, ulogd).kind).toBe(
      'ignored',
    );
  });

  test("the kernel's field shapes are not PRINTPKT's: TOS=0x00 and RES= make a ulogd line malformed", () => {
    const line = packets[0]!.line;
    expect(parseKernelLine(line.replace(' TOS=00 ', ' TOS=0x00 '), ulogd)).toMatchObject({
      kind: 'malformed',
      field: 'TOS',
    });
    expect(parseKernelLine(line.replace(' SYN ', ' RES=0x00 SYN '), ulogd).kind).toBe('malformed');
  });

  test('a line of another prefix, a line from the future and a line without its fields are not knocks', () => {
    const line = packets[0]!.line;
    expect(parseKernelLine(line.replace(prefix, 'other: '), ulogd).kind).toBe('ignored');
    expect(parseKernelLine(line, { ...ulogd, referenceTime: ulogd.referenceTime - 3_600_000 })).toMatchObject({
      kind: 'malformed',
      field: 'timestamp',
    });
    expect(parseKernelLine(line.slice(0, line.indexOf(' SRC=')), ulogd).kind).toBe('malformed');
  });

  test('the pipeline reads ulogd lines with this parser, and its fast path takes no rsyslog kernel line for them', async () => {
    const seen: string[] = [];
    const pipeline = new Pipeline({
      parseContext: ulogd,
      tracker: {
        observe: (packet: { src: string }) => (seen.push(packet.src), []),
        staleCount: 0,
        expire: () => [],
        nextExpiry: () => undefined,
      } as never,
      grants: {} as never,
      clock: { now: () => ulogd.referenceTime, setTimer: () => ({}), clearTimer: () => undefined } as never,
      counters: createCounters(),
    });
    const kernel = `2026-12-06T06:26:31.000000+00:00 vm kernel: ${prefix}IN=eth0 OUT= MAC= SRC=203.0.113.7 DST=198.51.100.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=4000 DPT=7000 WINDOW=64240 RES=0x00 SYN URGP=0 \n`;
    await pipeline.processChunk(Buffer.from(kernel + captured.map((c) => `${c.line}\n`).join('')));
    expect(seen).toEqual(packets.map((c) => c.expect['src']));
    pipeline.stop();
  });
});
