// The fuzzer's run: write N hostile lines (bench/fuzz-lines.ts) to a log file, replay it
// through the daemon's own pipeline (runReplay over the file reader), and check what came out
// against an oracle written apart from the parser (a strict regex of the kernel's LOG format).
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { normaliseAddress } from '../src/model/address.js';
import type { Config } from '../src/config/types.js';
import { validateConfig } from '../src/config/load-config.js';
import { MAX_LINE_BYTES } from '../src/model/line-limit.js';
import { AddressCache } from '../src/parse/address-cache.js';
import { parseKernelLine, type LineResult } from '../src/parse/parse-kernel-line.js';
import type { ParseContext } from '../src/parse/packet.js';
import { runReplay } from '../src/app/replay.js';
import { readLogFiles } from '../src/source/file-reader.js';
import { KNOCK_PORT, LOCAL, loadFixtureTemplates, nextLine, PREFIX, Random, type FuzzLine } from './fuzz-lines.js';

// One memo of address lookups, as a pipeline keeps one.
const addresses = new AddressCache();

export interface FuzzOptions {
  readonly lines: number;
  readonly seed: number;
  readonly workDir: string;
  readonly fixturesDir: string;
}

export type Category = 'packet' | 'malformed' | 'ignored' | 'foreign' | 'oversized';
export const CATEGORIES: readonly Category[] = ['packet', 'malformed', 'ignored', 'foreign', 'oversized'];

export interface FuzzReport {
  readonly lines: number;
  /** Per origin (genuine, grammar, each mutation): lines and how each was classified. */
  readonly byOrigin: Record<string, Record<Category | 'lines', number>>;
  readonly pipeline: {
    lines: number;
    packets: number;
    malformed: number;
    ignored: number;
    foreign: number;
    oversized: number;
    errors: number;
    opens: number;
  };
  /** Lines the parser took as packets that the oracle says are no genuine INPUT line for this host. */
  readonly acceptedNotGenuine: readonly string[];
  /** Opens for a source that no genuine line (by the oracle) knocked from. */
  readonly unjustifiedOpens: readonly string[];
  /** Sources that opened: genuine knockers, and hostile ones whose mutated line stayed a genuine line. */
  readonly genuineOpens: number;
  readonly hostileGenuineOpens: number;
  /** pipeline counters == per-line classification, and lines == the sum of the five counters. */
  readonly countersConsistent: boolean;
  readonly crashed: string | undefined;
  readonly seconds: number;
}

const REFERENCE_TIME = Date.parse('2026-11-25T00:00:00Z');
const BOOT_TIME = Date.parse('2026-11-24T15:48:38Z');

function fuzzConfig(): Config {
  const result = validateConfig({
    logPrefix: PREFIX,
    localAddresses: [...LOCAL],
    firewall: { backend: 'dry-run' },
    limits: { maxTrackedSources: 100_000, maxFailures: 1_000_000 },
    doors: [{ name: 'classic', sequence: [`tcp:${KNOCK_PORT}`], open: ['tcp:22'], openFor: '30d' }],
  });
  if (!result.ok) throw new Error(`fuzz config invalid: ${result.errors.join('; ')}`);
  return result.config;
}

// ---- the oracle: what a genuine INPUT line for this host looks like, written apart from src/parse ----
const HEADER = new RegExp(
  [
    String.raw`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:?\d\d) [^ ]+ kernel: (?:\[ *\d+\.\d{6}\] )?`,
    String.raw`^(?:<[0-7]>)?[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d [^ ]+ kernel: (?:\[ *\d+\.\d{6}\] )?`,
    // RFC 5424: PRI (facility kern), version, time, host, app kernel, any procid and msgid, structured data.
    String.raw`^<[0-7]>1 [^ ]+ [^ ]+ kernel [^ ]+ [^ ]+ (?:-|\[[^\]]*\]) \ufeff?(?:\[ *\d+\.\d{6}\] )?`,
    String.raw`^[0-7],\d+,\d+,[^;]*;`,
    String.raw`^\[ *\d+\.\d{6}\] `,
  ].join('|'),
  'u',
);
const NUM = String.raw`(?:0|[1-9]\d{0,9})`;
const V4 = String.raw`(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)`;
const V6 = String.raw`[0-9a-f]{4}(?::[0-9a-f]{4}){7}`;
const LINK = String.raw`(?:(?:PHYSIN|PHYSOUT|MAC|MACSRC|MACDST|MACPROTO|VPROTO|VID|TUNNEL)=[^ ]* )*`;
const IPV4_HDR = `LEN=${NUM} TOS=0x[0-9A-F]{2} PREC=0x[0-9A-F]{2} TTL=${NUM} ID=${NUM} (?:(?:CE|DF|MF) )*(?:OPT \\([0-9A-F]*\\) )?`;
const IPV6_HDR = `LEN=${NUM} TC=${NUM} HOPLIMIT=${NUM} FLOWLBL=${NUM} (?:OPT \\( (?:FRAG:\\d+ |INCOMPLETE |ID:[0-9a-f]{8} |AH |ESP |SPI=0x[0-9a-f]+ )*\\) |FRAG:\\d+ |INCOMPLETE |ID:[0-9a-f]{8} )*`;
const TAIL = `(?:UID=${NUM} GID=${NUM} )?(?:MARK=[^ ]+ )?$`;
const TCP = `PROTO=TCP SPT=(${NUM}) DPT=(${NUM}) (?:SEQ=${NUM} ACK=${NUM} )?WINDOW=${NUM} RES=[^ ]+ (?:(?:CWR|ECE|URG|ACK|PSH|RST|SYN|FIN|AE) )*URGP=${NUM} (?:OPT \\([0-9A-F]*\\) )?`;
const UDP = `PROTO=UDP(?:LITE)? SPT=(${NUM}) DPT=(${NUM}) LEN=${NUM} `;
const MESSAGE = new RegExp(
  `^IN=([^ /:]{1,15}) OUT= ${LINK}SRC=(${V4}|${V6}) DST=(${V4}|${V6}) (?:${IPV4_HDR}|${IPV6_HDR})(?:${TCP}|${UDP})${TAIL}`,
  'u',
);

function expandLocal(address: string): string {
  const parsed = normaliseAddress(address);
  return parsed?.text ?? address;
}
const LOCAL_SET = new Set(LOCAL.map(expandLocal));

/** The knock a genuine TCP/UDP INPUT line for this host describes, or undefined: the oracle. */
export function referenceKnock(line: string): { src: string; dport: number; proto: string } | undefined {
  const header = HEADER.exec(line);
  if (!header || !line.startsWith(PREFIX, header[0].length)) return undefined;
  // Trailing spaces are trimmed by the parser on purpose (journald drops the kernel's one).
  const message = line.slice(header[0].length + PREFIX.length).replace(/ *$/, ' ');
  const m = MESSAGE.exec(message);
  if (!m) return undefined;
  const [, , srcText, dstText, tcpSport, tcpDport, udpSport, udpDport] = m;
  const src = normaliseAddress(srcText!);
  const dst = normaliseAddress(dstText!);
  // The kernel prints a v6 source in full and never as mapped/compatible; families match.
  if (
    !src ||
    !dst ||
    srcText!.includes(':') !== dstText!.includes(':') ||
    src.family !== (srcText!.includes(':') ? 6 : 4)
  )
    return undefined;
  // IPv4-mapped (::ffff:0:0/96) and IPv4-compatible (::/96) sources are not IPv6 hosts.
  if (
    /^0000:0000:0000:0000:0000:(?:ffff|0000):/.test(srcText!) &&
    srcText !== '0000:0000:0000:0000:0000:0000:0000:0001'
  )
    return undefined;
  if (!LOCAL_SET.has(dst.text)) return undefined;
  const sport = Number(tcpSport ?? udpSport);
  const dport = Number(tcpDport ?? udpDport);
  if (sport > 65535 || dport > 65535) return undefined;
  return { src: src.text, dport, proto: tcpDport !== undefined ? 'tcp' : 'udp' };
}

function categoryOf(result: LineResult): Category {
  return result.kind === 'packet' ? 'packet' : result.kind;
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const random = new Random(options.seed);
  const templates = loadFixtureTemplates(options.fixturesDir);
  const context: ParseContext = {
    prefix: PREFIX,
    referenceTime: REFERENCE_TIME,
    bootTime: BOOT_TIME,
    maxClockSkew: 300_000,
    localAddresses: LOCAL_SET,
  };
  const byOrigin: Record<string, Record<Category | 'lines', number>> = {};
  const genuineSources = new Set<string>();
  const hostileGenuineSources = new Set<string>();
  const acceptedNotGenuine: string[] = [];
  const path = join(options.workDir, `fuzz-${options.seed}.log`);
  const fd = openSync(path, 'w');
  const pending: Buffer[] = [];
  let pendingBytes = 0;
  const newline = Buffer.from('\n');
  try {
    for (let i = 0; i < options.lines; i++) {
      const fuzz: FuzzLine = nextLine(random, templates);
      const tally = (byOrigin[fuzz.origin] ??= {
        lines: 0,
        packet: 0,
        malformed: 0,
        ignored: 0,
        foreign: 0,
        oversized: 0,
      });
      tally.lines += 1;
      if (fuzz.bytes.length > MAX_LINE_BYTES) {
        tally.oversized += 1;
      } else {
        // What the pipeline will see: the line decoded as utf8, when it holds the prefix at all.
        const text = fuzz.bytes.toString('utf8');
        const result: LineResult = fuzz.bytes.includes(PREFIX)
          ? parseKernelLine(text, context, addresses)
          : { kind: 'ignored' };
        tally[categoryOf(result)] += 1;
        if (result.kind === 'packet') {
          const reference = referenceKnock(text);
          const agrees =
            reference !== undefined &&
            reference.src === result.packet.src &&
            reference.dport === result.packet.dport &&
            reference.proto === result.packet.proto;
          // Only a packet with a destination port can be a knock on the door (ICMP, fragments, other protocols cannot).
          const otherProto =
            result.packet.dport === undefined ||
            (result.packet.proto !== 'tcp' && result.packet.proto !== 'udp' && result.packet.proto !== 'udplite');
          if (!agrees && !otherProto && acceptedNotGenuine.length < 20) acceptedNotGenuine.push(text);
          if (!agrees && !otherProto && acceptedNotGenuine.length >= 20) acceptedNotGenuine.length = 20;
          if (agrees && reference.proto === 'tcp' && reference.dport === KNOCK_PORT) {
            (fuzz.genuineSrc === undefined ? hostileGenuineSources : genuineSources).add(reference.src);
          }
        }
      }
      pending.push(fuzz.bytes, newline);
      pendingBytes += fuzz.bytes.length + 1;
      if (pendingBytes > 1 << 20) {
        writeSync(fd, Buffer.concat(pending, pendingBytes));
        pending.length = 0;
        pendingBytes = 0;
      }
    }
    writeSync(fd, Buffer.concat(pending, pendingBytes));
  } finally {
    closeSync(fd);
  }

  const opens: string[] = [];
  let crashed: string | undefined;
  let counters = { lines: 0, packets: 0, malformed: 0, ignored: 0, foreign: 0, oversized: 0, errors: 0, opens: 0 };
  try {
    const result = await runReplay({
      config: fuzzConfig(),
      source: readLogFiles([path]),
      bootTime: BOOT_TIME,
      referenceTime: REFERENCE_TIME,
      onRecord: (record) => {
        if (record.event === 'open') opens.push(record.src);
      },
    });
    counters = { ...result.counters };
  } catch (error) {
    crashed = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
  }
  const unjustifiedOpens = opens.filter((src) => !genuineSources.has(src) && !hostileGenuineSources.has(src));
  const sum = (category: Category): number =>
    Object.values(byOrigin).reduce((total, tally) => total + tally[category], 0);
  const countersConsistent =
    counters.lines === options.lines &&
    counters.lines ===
      counters.packets + counters.malformed + counters.ignored + counters.foreign + counters.oversized &&
    counters.packets === sum('packet') &&
    counters.malformed === sum('malformed') &&
    counters.ignored === sum('ignored') &&
    counters.foreign === sum('foreign') &&
    counters.oversized === sum('oversized');
  return {
    lines: options.lines,
    byOrigin,
    pipeline: counters,
    acceptedNotGenuine,
    unjustifiedOpens: unjustifiedOpens.slice(0, 20),
    genuineOpens: opens.filter((src) => genuineSources.has(src)).length,
    hostileGenuineOpens: opens.filter((src) => hostileGenuineSources.has(src) && !genuineSources.has(src)).length,
    countersConsistent,
    crashed,
    seconds: (Date.now() - started) / 1000,
  };
}
