import { mkdir } from 'node:fs/promises';
import type { Clock, TimerHandle } from './clock.js';
import type { AuditSink } from './audit/record.js';
import { progressSnapshot, STATUS_PROGRESS_CAP, statusGrant, type StatusSnapshot } from './audit/status-view.js';
import type { Config } from './config/types.js';
import { ControlServer } from './control/control-server.js';
import { GrantController } from './control/controller.js';
import { countRecord, createCounters, type Counters } from './counters.js';
import type { FirewallBackend } from './firewall/backend.js';
import { withFirewallLock } from './firewall/firewall-lock.js';
import { GrantManager } from './grant/grant-manager.js';
import { GrantTable } from './grant/grant-table.js';
import { loadState, saveState } from './grant/state-file.js';
import type { Grant } from './model/grant.js';
import { KnockTracker } from './knock/tracker.js';
import type { Metrics } from './metrics/metrics.js';
import { Pipeline } from './pipeline.js';
import { controlSocketPath, stateFilePath } from './state-paths.js';
import type { ChunkSource } from './source/chunk-source.js';

// The daemon is wiring only: it receives every part ready-made (clock, backend, audit,
// source, logger) and connects source → parse → knock → grant → firewall → audit.
export interface Logger {
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

export interface DaemonParts {
  readonly clock: Clock;
  readonly backend: FirewallBackend;
  readonly audit: AuditSink;
  readonly source: ChunkSource & { position?: () => { path: string; offset: number; lagBytes: number } };
  readonly log: Logger;
  /** Epoch ms at boot, for kernel-uptime timestamps. */
  readonly bootTime: number;
  readonly metrics?: Metrics;
  /** This host's addresses: a packet to any other DST= is foreign. Absent: destinations are not checked. */
  readonly localAddresses?: { current(): ReadonlySet<string> };
}

export { controlSocketPath, stateFilePath };

export class Daemon {
  private config: Config;
  private readonly parts: DaemonParts;
  private readonly counters: Counters = createCounters();
  private readonly abort = new AbortController();
  private readonly startedAt: number;
  private grants: GrantManager | undefined;
  private tracker: KnockTracker | undefined;
  private pipeline: Pipeline | undefined;
  private control: ControlServer | undefined;
  private checkTimer: TimerHandle | undefined;
  private loop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(config: Config, parts: DaemonParts) {
    this.config = config;
    this.parts = parts;
    this.startedAt = parts.clock.now();
  }

  /** Reconcile the firewall with the saved grants, open the control socket, start reading. */
  async start(): Promise<void> {
    const { config, parts } = this;
    await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
    const state = await loadState(stateFilePath(config));
    this.tracker = new KnockTracker({ doors: config.doors, limits: config.limits, usedOneTime: new Set(state.usedOneTime) });
    this.grants = new GrantManager({
      doors: config.doors,
      backend: parts.backend,
      audit: parts.audit,
      clock: parts.clock,
      table: new GrantTable(state.grants),
      persist: (grants) => this.persist(grants),
      onRecord: (record) => {
        countRecord(this.counters, record);
        parts.metrics?.record(record);
        parts.log.info(`${record.event} ${record.door} ${record.src}`, { ...record });
      },
    });
    parts.metrics?.trackCounters(() => this.counters);
    parts.metrics?.trackGauges(() => ({
      openGrants: this.grants?.grants().length ?? 0,
      trackedSources: this.tracker?.stats().trackedSources ?? 0,
      lagBytes: this.parts.source.position?.().lagBytes ?? 0,
    }));
    // The guard (LOG + DROP) may be gone after a reboot or a firewall reload; setup is idempotent.
    // Under the firewall lock, so a concurrent `setup`/`grant` never interleaves with it.
    await withFirewallLock(config.stateDir, { holder: `knocktail run (start, pid ${process.pid})` }, async () => {
      await parts.backend.setup(config.doors);
      await this.grants!.reconcile('start');
    });
    this.pipeline = this.buildPipeline();
    this.control = new ControlServer(
      controlSocketPath(config),
      new GrantController({ grants: this.grants, doors: () => this.config.doors, limits: () => this.config.limits, status: () => this.status() }),
    );
    await this.control.start();
    this.scheduleCheck();
    this.loop = this.readLoop();
    parts.log.info(`knocktail running: ${config.doors.length} doors, backend ${parts.backend.name}, source ${config.source === 'kmsg' ? '/dev/kmsg' : config.logFile}`);
  }

  /** Resolves when the daemon has stopped reading (after stop(), or on a fatal source error). */
  async done(): Promise<void> {
    await this.loop;
  }

  /** Apply a new config (already validated): new guard rules, new doors. Knock progress restarts; grants and counters stay. */
  async reload(config: Config): Promise<void> {
    const restartOnly = ['logFile', 'source', 'stateDir', 'auditLog', 'logPrefix', 'firewall', 'metrics', 'localAddresses'] as const;
    const changed = restartOnly.filter((key) => JSON.stringify(config[key]) !== JSON.stringify(this.config[key]));
    if (changed.length > 0) this.parts.log.warn(`reload: ${changed.join(', ')} changed; these take effect on restart only`);
    await withFirewallLock(this.config.stateDir, { holder: `knocktail run (reload, pid ${process.pid})` }, () => this.parts.backend.setup(config.doors));
    this.config = { ...this.config, doors: config.doors, limits: config.limits };
    this.grants?.setDoors(config.doors);
    this.pipeline?.stop();
    this.tracker = new KnockTracker({ doors: config.doors, limits: config.limits, usedOneTime: new Set(this.tracker?.usedOneTimeKeys() ?? []) });
    this.pipeline = this.buildPipeline();
    this.parts.log.info(`reloaded config: ${config.doors.length} doors`);
  }

  /** Stop reading, flush state; grants stay in the firewall with their expiry. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.abort.abort();
    await this.loop?.catch(() => undefined);
    if (this.checkTimer) this.parts.clock.clearTimer(this.checkTimer);
    this.pipeline?.stop();
    this.grants?.stop();
    await this.grants?.idle();
    if (this.grants) await this.persist(this.grants.grants());
    await this.control?.stop();
    await this.parts.backend.stop?.();
    await this.parts.audit.close();
  }

  status(): StatusSnapshot {
    const grants = this.grants?.grants() ?? [];
    const position = this.parts.source.position?.();
    return {
      startedAt: new Date(this.startedAt).toISOString(),
      backend: this.parts.backend.name,
      backendHealthy: (this.grants?.pendingCloses().length ?? 0) === 0,
      grants: grants.map(statusGrant),
      trackedSources: this.tracker?.stats().trackedSources ?? 0,
      ...(this.tracker ? { inProgress: progressSnapshot(this.tracker.inProgress(STATUS_PROGRESS_CAP)) } : {}),
      counters: { ...this.counters },
      ...(position ? { follower: { path: position.path, offset: position.offset, lagBytes: position.lagBytes } } : {}),
      pendingCloses: this.grants?.pendingCloses() ?? [],
      alwaysAllow: this.config.limits.alwaysAllow.map((cidr) => cidr.text),
    };
  }

  private buildPipeline(): Pipeline {
    const { parts } = this;
    const tracker = this.tracker!;
    const clock = parts.clock;
    return new Pipeline({
      parseContext: {
        prefix: this.config.logPrefix,
        bootTime: parts.bootTime,
        get referenceTime() {
          return clock.now();
        },
        get localAddresses() {
          return parts.localAddresses?.current();
        },
        maxClockSkew: this.config.limits.maxClockSkew,
      },
      tracker,
      grants: this.grants!,
      clock,
      counters: this.counters,
      onBadLine: (line, problem) => parts.log.warn(`skipped line: ${problem}`, { line: line.slice(0, 512) }),
    });
  }

  private async readLoop(): Promise<void> {
    try {
      for await (const chunk of this.parts.source.chunks(this.abort.signal)) {
        await this.pipeline!.processChunk(chunk, this.parts.source.takeOversized?.() ?? 0);
      }
    } catch (error) {
      if (this.abort.signal.aborted) return;
      this.parts.log.error(`log source failed: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
  }

  private scheduleCheck(): void {
    const { clock } = this.parts;
    this.checkTimer = clock.setTimer(clock.now() + this.config.firewall.checkInterval * 1000, () => {
      void this.grants
        ?.reconcile('check')
        .catch((error: unknown) => this.parts.log.error(`firewall check failed: ${String(error)}`))
        .finally(() => {
          if (!this.abort.signal.aborted) this.scheduleCheck();
        });
    });
  }

  private async persist(grants: readonly Grant[]): Promise<void> {
    await saveState(stateFilePath(this.config), { version: 1, grants: [...grants], usedOneTime: this.tracker?.usedOneTimeKeys() ?? [] });
  }
}
