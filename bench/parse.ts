// Parser throughput: scanLines alone, scan + parseKernelLine, two slower ways to find the
// candidate lines (for comparison), and `grep -c` on the same generated kernel log.
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { scanLines } from '../src/parse/line-scanner.js';
import type { ParseContext } from '../src/parse/packet.js';
import { AddressCache } from '../src/parse/address-cache.js';
import { parseKernelLine } from '../src/parse/parse-kernel-line.js';
import type { BenchFunction } from './section.js';

// One memo of address lookups, as a pipeline keeps one.
const addresses = new AddressCache();

const PREFIX = 'knocktail: ';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// A small deterministic PRNG (mulberry32): the same file on every machine and run.
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ORDINARY = [
  'br0: port 1(veth3a1f) entered forwarding state',
  'EXT4-fs (vda1): mounted filesystem with ordered data mode. Quota mode: none.',
  'audit: type=1400 audit(1764000000.123:42): apparmor="DENIED" operation="open" profile="snap" name="/proc/1/environ"',
  'TCP: request_sock_TCP: Possible SYN flooding on port 443. Sending cookies.',
  'nf_conntrack: nf_conntrack: table full, dropping packet',
  'usb 1-1: new high-speed USB device number 2 using xhci_hcd',
  '[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=198.51.100.7 DST=203.0.113.1 LEN=40 TOS=0x00 PREC=0x00 TTL=244 ID=54321 PROTO=TCP SPT=41234 DPT=23 WINDOW=65535 RES=0x00 SYN URGP=0 ',
  'docker0: port 2(vethb2c4) entered disabled state',
  'IPv6: ADDRCONF(NETDEV_CHANGE): veth9d2e: link becomes ready',
  'Out of memory: Killed process 4242 (java) total-vm:8123456kB, anon-rss:4023456kB',
];
const MAC = 'MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00';
const MAC6 = 'MAC=52:54:00:12:34:56:52:54:00:65:43:21:86:dd';

function v6(n: number): string {
  return `2001:0db8:0000:0000:0000:0000:${(n >> 16).toString(16).padStart(4, '0')}:${(n & 0xffff).toString(16).padStart(4, '0')}`;
}

// The shapes of __tests__/fixtures/rsyslog-file-format.log, with varied addresses and ports.
function knockLine(next: () => number): string {
  const host = 1 + Math.floor(next() * 250);
  const sport = 32768 + Math.floor(next() * 28000);
  const dport = [7000, 8000, 9000, 31600, 31601, 7100, 22, 443][Math.floor(next() * 8)]!;
  const id = Math.floor(next() * 65536);
  const src = `203.0.113.${host}`;
  switch (Math.floor(next() * 6)) {
    case 0:
    case 1:
      return `IN=eth0 OUT= ${MAC} SRC=${src} DST=198.51.100.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=${id} DF PROTO=TCP SPT=${sport} DPT=${dport} WINDOW=64240 RES=0x00 SYN URGP=0 `;
    case 2:
      return `IN=eth0 OUT= ${MAC} SRC=${src} DST=198.51.100.1 LEN=34 TOS=0x00 PREC=0x00 TTL=64 ID=${id} DF PROTO=UDP SPT=${sport} DPT=${dport} LEN=14 `;
    case 3:
      return `IN=eth0 OUT= ${MAC} SRC=${src} DST=198.51.100.1 LEN=84 TOS=0x00 PREC=0x00 TTL=64 ID=${id} DF PROTO=ICMP TYPE=8 CODE=0 ID=${sport} SEQ=1 `;
    case 4:
      return `IN=eth0 OUT= ${MAC6} SRC=${v6(host)} DST=${v6(1)} LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=${id} PROTO=TCP SPT=${sport} DPT=${dport} WINDOW=64800 RES=0x00 SYN URGP=0 `;
    default:
      return `IN=eth0 OUT= ${MAC6} SRC=${v6(host)} DST=${v6(1)} LEN=54 TC=0 HOPLIMIT=64 FLOWLBL=${id} PROTO=UDP SPT=${sport} DPT=${dport} LEN=14 `;
  }
}

function stamp(ms: number, traditional: boolean): string {
  const d = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  if (traditional)
    return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `${d.toISOString().slice(0, 23)}${String((ms * 7) % 1000).padStart(3, '0')}+00:00`;
}

/**
 * Write a deterministic kernel log of `lines` lines to `path`: 10 % knocktail LOG lines in
 * the real captures' shapes, the rest ordinary kernel messages; RSYSLOG_FileFormat with a
 * traditional-format stretch every tenth block of 1,000 lines.
 */
export async function generateKernelLog(path: string, lines: number): Promise<void> {
  const next = random(0x6b6e6f63);
  const file = await open(path, 'w');
  try {
    let ms = Date.UTC(2026, 10, 24, 12, 0, 0);
    let uptime = 103_854_386;
    for (let done = 0; done < lines;) {
      const block: string[] = [];
      const traditional = Math.floor(done / 1000) % 10 === 9;
      for (const end = Math.min(lines, done + 10_000); done < end; done++) {
        ms += Math.floor(next() * 3);
        uptime += Math.floor(next() * 3000);
        const kernelTime = next() < 0.3 ? `[${(uptime / 1e6).toFixed(6).padStart(12, ' ')}] ` : '';
        const message = next() < 0.1 ? PREFIX + knockLine(next) : ORDINARY[Math.floor(next() * ORDINARY.length)]!;
        block.push(`${stamp(ms, traditional)} vm kernel: ${kernelTime}${message}\n`);
      }
      await file.write(block.join(''));
    }
  } finally {
    await file.close();
  }
}

// Whole lines at a time, as the file reader hands them to the pipeline.
async function forEachChunk(path: string, onChunk: (chunk: Buffer) => void): Promise<void> {
  let carry: Buffer | undefined;
  for await (const data of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const buffer = carry ? Buffer.concat([carry, data]) : data;
    const last = buffer.lastIndexOf(0x0a);
    if (last < 0) {
      carry = buffer;
      continue;
    }
    onChunk(buffer.subarray(0, last + 1));
    carry = last + 1 < buffer.length ? buffer.subarray(last + 1) : undefined;
  }
  if (carry) onChunk(Buffer.concat([carry, Buffer.from('\n')]));
}

type Variant = (chunk: Buffer, prefix: Buffer, onCandidate: (line: string) => void) => number;

// Alternatives measured against scanLines (not used by knocktail).
const decodeAndSplit: Variant = (chunk, prefix, onCandidate) => {
  const text = prefix.toString('utf8');
  const lines = chunk.toString('utf8').split('\n');
  for (let i = 0; i < lines.length - 1; i++) if (lines[i]!.includes(text)) onCandidate(lines[i]!);
  return lines.length - 1;
};
const perLineIndexOf: Variant = (chunk, prefix, onCandidate) => {
  let count = 0;
  for (let start = 0; start < chunk.length;) {
    const end = chunk.indexOf(0x0a, start);
    const hit = chunk.indexOf(prefix, start);
    if (hit >= 0 && hit < end) onCandidate(chunk.toString('utf8', start, end));
    count++;
    start = end + 1;
  }
  return count;
};

export const bench: BenchFunction = async ({ quick, workDir }) => {
  const lines = quick ? 100_000 : 1_000_000;
  const path = join(workDir, `kernel-${lines}.log`);
  await generateKernelLog(path, lines);
  const size = (await stat(path)).size;
  const prefix = Buffer.from(PREFIX);
  const ctx: ParseContext = {
    prefix: PREFIX,
    referenceTime: Date.UTC(2026, 10, 25),
    bootTime: Date.UTC(2026, 10, 24),
    zoneOffsetMinutes: () => 0,
  };
  const rows: Record<string, string | number>[] = [];
  const measure = async (name: string, variant: Variant, parse: boolean): Promise<void> => {
    let counted = 0;
    let candidates = 0;
    let packets = 0;
    const started = performance.now();
    await forEachChunk(path, (chunk) => {
      counted += variant(chunk, prefix, (line) => {
        candidates++;
        if (parse && parseKernelLine(line, ctx, addresses).kind === 'packet') packets++;
      });
    });
    const seconds = (performance.now() - started) / 1000;
    rows.push({
      variant: name,
      lines: counted,
      candidates,
      packets: parse ? packets : '',
      seconds,
      'lines/s': Math.round(counted / seconds),
      'MiB/s': size / 2 ** 20 / seconds,
    });
  };
  await measure('warm-up (scan + parse)', scanLines, true);
  rows.length = 0;
  await measure('scanLines', scanLines, false);
  await measure('scanLines + parseKernelLine', scanLines, true);
  await measure('alt: decode chunk, split, includes', decodeAndSplit, false);
  await measure('alt: indexOf per line', perLineIndexOf, false);
  const grepStarted = performance.now();
  const count = execFileSync('grep', ['-c', PREFIX, path], { encoding: 'utf8' }).trim();
  const grepSeconds = (performance.now() - grepStarted) / 1000;
  rows.push({
    variant: 'grep -c (reference)',
    lines,
    candidates: Number(count),
    packets: '',
    seconds: grepSeconds,
    'lines/s': Math.round(lines / grepSeconds),
    'MiB/s': size / 2 ** 20 / grepSeconds,
  });
  return {
    name: 'parse (scan + parse, one core)',
    rows,
    notes: [
      `input ${lines.toLocaleString('en-US')} lines, ${(size / 2 ** 20).toFixed(1)} MiB, 10 % knocktail lines; 1 MiB chunks from a read stream`,
      `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (whole bench process)`,
    ],
  };
};
