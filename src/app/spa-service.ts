import type { Counters } from './counters.js';
import type { Config } from '../config/types.js';
import type { StreamStarter } from '../firewall/interactive-process.js';
import type { GrantEngine } from '../grant/grant-engine.js';
import { NflogCapture } from '../source/nflog-capture.js';
import { ReplayCache } from '../spa/replay-cache.js';
import { ReplayJournal } from '../spa/replay-file.js';
import { parseSpaUsedKey, rememberSharedPacket, spaUsedKey } from '../spa/replay-share.js';
import { SpaHandler, spaDoorsByPort, type SpaCounterName, type SpaRefusalReason } from '../spa/spa-handler.js';
import { spaReplayPath } from './state-paths.js';
import { NO_TRACE, type Tracer } from '../trace/stage-trace.js';

// The daemon's SPA doors: one NFLOG capture per SPA port feeding one handler, whose grants go
// through the same engine as knocks and whose used packets survive restarts (the replay journal).
// On fleet doors, the packets used here go to the group and those used elsewhere come into the
// cache (onUsed / markUsed, through the fleet link's used-sequence share).
export interface SpaServiceOptions {
  readonly starter: StreamStarter;
  readonly engine: GrantEngine;
  readonly counters: Counters;
  readonly now: () => number;
  readonly onRefused?: (door: string, src: string, reason: SpaRefusalReason, detail: string) => void;
  readonly onProblem: (message: string) => void;
  /** Every counted SPA outcome (metrics). */
  readonly onCount?: (name: SpaCounterName) => void;
  /** Marks the SPA stages (KNOCKTAIL_TRACE, the SPA bench); NO_TRACE when absent. */
  readonly tracer?: Tracer;
  /** Every packet remembered here, as a used-sequence key (spaUsedKey) with its door: the fleet link shares those of fleet doors. */
  readonly onUsed?: (key: string, door: string) => void;
}

export class SpaService {
  private readonly options: SpaServiceOptions;
  private config: Config;
  private readonly captures = new Map<number, NflogCapture>();
  private handler: SpaHandler | undefined;
  private store: { readonly cache: ReplayCache; readonly journal: ReplayJournal } | undefined;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(config: Config, options: SpaServiceOptions) {
    this.config = config;
    this.options = options;
  }

  /** Whether the config has any SPA door. */
  static needed(config: Config): boolean {
    return config.doors.some((door) => door.spa !== undefined);
  }

  /**
   * Whether the SPA ports can be captured here: one tcpdump per port is started until it listens,
   * then stopped. Resolves to what failed (tcpdump missing, no capability, the NFLOG group taken),
   * or undefined. The daemon asks before it arms the guard: SPA packets that cannot be read are
   * knocks that cannot arrive.
   */
  static async preflight(config: Config, starter: StreamStarter): Promise<string | undefined> {
    for (const [port, candidates] of spaDoorsByPort(config.doors)) {
      const capture = new NflogCapture({
        starter,
        group: port,
        onDatagram: () => undefined,
        onProblem: () => undefined,
      });
      try {
        await capture.start();
      } catch (error) {
        const doors = candidates.map((candidate) => candidate.door.name).join(', ');
        return `the SPA door(s) ${doors} cannot read their packets on udp/${port}: ${error instanceof Error ? error.message : String(error)}`;
      } finally {
        await capture.stopAndWait();
      }
    }
    return undefined;
  }

  /** Load the replay journal, start one capture per SPA port; resolves when all listen. */
  async start(): Promise<void> {
    const { options } = this;
    const path = spaReplayPath(this.config);
    const now = options.now();
    const cache = new ReplayCache(
      undefined,
      (await ReplayJournal.load(path)).filter((entry) => entry.until >= now),
    );
    const journal = await ReplayJournal.open(path, {
      entries: () => cache.snapshot(options.now()),
      count: () => cache.size,
    });
    this.store = { cache, journal };
    this.handler = this.buildHandler(this.config);
    for (const port of spaDoorsByPort(this.config.doors).keys()) {
      const capture = new NflogCapture({
        starter: options.starter,
        group: port,
        onProblem: options.onProblem,
        onDatagram: (datagram) => this.receive(datagram),
      });
      this.captures.set(port, capture);
      await capture.start();
    }
  }

  /** New doors (keys, ports allowed); a new SPA port needs a restart (said in the log). */
  reload(config: Config): void {
    const added = [...spaDoorsByPort(config.doors).keys()].filter((port) => !this.captures.has(port));
    if (added.length > 0)
      this.options.onProblem(`reload: new SPA port(s) ${added.join(', ')} are read from the next restart on`);
    this.config = config;
    if (this.store) this.handler = this.buildHandler(config);
  }

  /**
   * A packet another member of the fleet used (its spaUsedKey): remembered and journaled like one
   * used here, so the same bytes are refused here too (rememberSharedPacket says when not).
   */
  markUsed(key: string): ReturnType<typeof rememberSharedPacket> {
    const store = this.store;
    if (!store) return 'refused';
    const result = rememberSharedPacket(store.cache, key, this.options.now());
    if (result !== 'added') return result;
    const saved = store.journal
      .append(parseSpaUsedKey(key)!)
      .catch((error: unknown) =>
        this.options.onProblem(
          `cannot save the replay cache: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
    const tracked = saved.finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
    return result;
  }

  /** Stop the captures and wait for the packets in hand. */
  async stop(): Promise<void> {
    for (const capture of this.captures.values()) capture.stop();
    await Promise.allSettled([...this.pending]);
    await this.store?.journal.close();
  }

  private buildHandler(config: Config): SpaHandler | undefined {
    const { options, store } = this;
    if (!store) return undefined;
    return new SpaHandler({
      ports: spaDoorsByPort(config.doors),
      grants: options.engine,
      cache: store.cache,
      now: options.now,
      remember: (entry) => store.journal.append(entry),
      count: (name) => {
        options.counters[name] = (options.counters[name] ?? 0) + 1;
        options.onCount?.(name);
      },
      ...(options.onRefused ? { onRefused: options.onRefused } : {}),
      ...(options.tracer ? { tracer: options.tracer } : {}),
      onRecorded: (door, digest, until) => options.onUsed?.(spaUsedKey(digest, until), door),
    });
  }

  private receive(datagram: Parameters<SpaHandler['receive']>[0]): void {
    (this.options.tracer ?? NO_TRACE).mark('spa-read');
    try {
      const effect = this.handler?.receive(datagram);
      if (!effect) return;
      const tracked = effect
        .catch((error: unknown) =>
          this.options.onProblem(`SPA grant failed: ${error instanceof Error ? error.message : String(error)}`),
        )
        .finally(() => this.pending.delete(tracked));
      this.pending.add(tracked);
    } catch (error) {
      this.options.counters.errors += 1;
      this.options.onProblem(`SPA packet processing failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
