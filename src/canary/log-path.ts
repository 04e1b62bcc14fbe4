import type { ChunkSource } from '../source/chunk-source.js';
import { parseKernelLine } from '../parse/parse-kernel-line.js';
import type { ParseContext } from '../parse/packet.js';

// Proves the log path before the guard hides anything (docs/containers.md): one udp datagram
// to the canary port on lo, which the guard's canary rule tags with the door's log action, must
// come back through the configured source, as a line the daemon's own parser reads, within a
// few seconds. The source is a parameter: a rotation-safe file (rsyslog, ulogd), /dev/kmsg, ...

/** The health of the path from the kernel to the daemon, as status and check-config show it. */
export type LogPathHealth =
  | {
      readonly ok: true;
      readonly source: string;
      readonly port: number;
      readonly at: number;
      readonly latencyMs: number;
    }
  | {
      readonly ok: false;
      readonly source: string;
      readonly port: number;
      readonly at: number;
      readonly waitedMs: number;
      readonly reason: string;
      readonly advice: readonly string[];
    };

export interface CanaryParts {
  /** A fresh reader of the configured source, from its end: only lines written from now on. */
  readonly reader: ChunkSource;
  /** Human name of the source for messages ("/var/log/knocktail/knocks.log", "/dev/kmsg"). */
  readonly source: string;
  readonly port: number;
  readonly logPrefix: string;
  /** Sends one datagram from 127.0.0.1 to 127.0.0.1:port; resolves to its source port. */
  readonly send: (port: number) => Promise<number>;
  /** Monotonic ms. */
  readonly now: () => number;
  /** Epoch ms (line timestamps, the health's `at`). */
  readonly wallClock: () => number;
  readonly bootTime: number;
  /** How the source's lines are read (ulogd's header for the nflog source; compose.ts sourceDialect). */
  readonly dialect?: Pick<ParseContext, 'header' | 'zoneOffsetMinutes'>;
  /** How long to wait for the line (default 5000). */
  readonly timeoutMs?: number;
  /** Between datagrams: a reader that settles on "the end" after the first one went out still sees a later one (default 1000). */
  readonly resendMs?: number;
  /** What to check and configure when no line came (logPathAdvice). */
  readonly advise: () => Promise<readonly string[]>;
}

/** Whether `line` is the canary's: a kernel line with the prefix, udp from one of `sports` to `port`, in on lo. */
export function isCanaryLine(
  line: string,
  parts: Pick<CanaryParts, 'logPrefix' | 'port' | 'bootTime' | 'dialect'>,
  sports: ReadonlySet<number>,
  now: number,
): boolean {
  const result = parseKernelLine(line, {
    prefix: parts.logPrefix,
    referenceTime: now,
    bootTime: parts.bootTime,
    ...parts.dialect,
  });
  if (result.kind !== 'packet') return false;
  const { packet } = result;
  return (
    packet.in === 'lo' &&
    packet.proto === 'udp' &&
    packet.dport === parts.port &&
    packet.sport !== undefined &&
    sports.has(packet.sport)
  );
}

/** Sends the canary and waits for its line; never throws for a silent path (the health says why). */
export async function proveLogPath(parts: CanaryParts): Promise<LogPathHealth> {
  const timeoutMs = parts.timeoutMs ?? 5000;
  const resendMs = parts.resendMs ?? 1000;
  const started = parts.now();
  const sports = new Set<number>();
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  let sendError: Error | undefined;
  const sendOne = (): void => {
    parts.send(parts.port).then(
      (sport) => sports.add(sport),
      (error: unknown) => (sendError = error instanceof Error ? error : new Error(String(error))),
    );
  };
  sendOne();
  const resend = setInterval(sendOne, resendMs);
  try {
    for await (const chunk of parts.reader.chunks(abort.signal)) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line !== '' && isCanaryLine(line, parts, sports, parts.wallClock())) {
          return {
            ok: true,
            source: parts.source,
            port: parts.port,
            at: parts.wallClock(),
            latencyMs: parts.now() - started,
          };
        }
      }
    }
  } catch (error) {
    if (!abort.signal.aborted)
      return await silent(
        parts,
        started,
        `reading ${parts.source} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
  } finally {
    clearTimeout(timer);
    clearInterval(resend);
    abort.abort();
  }
  const why = sendError === undefined ? '' : ` (sending it failed: ${sendError.message})`;
  return silent(
    parts,
    started,
    `no line of the canary (udp to 127.0.0.1:${parts.port}, tagged "${parts.logPrefix}") came through ${parts.source} within ${Math.round(timeoutMs / 100) / 10}s${why}`,
  );
}

async function silent(parts: CanaryParts, started: number, reason: string): Promise<LogPathHealth> {
  return {
    ok: false,
    source: parts.source,
    port: parts.port,
    at: parts.wallClock(),
    waitedMs: parts.now() - started,
    reason,
    advice: await parts.advise(),
  };
}
