import { mkdir } from 'node:fs/promises';
import type { Clock, TimerHandle } from '../model/clock.js';
import type { AuditSink } from '../audit/record.js';
import { isoTime } from '../audit/record.js';
import { progressSnapshot, STATUS_PROGRESS_CAP, statusGrant, type StatusSnapshot } from '../audit/status-view.js';
import { compose, type Knocktail } from './compose.js';
import type { Config, FleetConfig } from '../config/types.js';
import { armGuard, describeLogPath, logPathError, type ProveLogPath } from '../canary/arm-guard.js';
import type { LogPathHealth } from '../canary/log-path.js';
import { ControlServer, controlSocketAnswers } from '../control/control-server.js';
import { GrantController } from '../control/controller.js';
import { KnocktailError } from '../model/errors.js';
import type { CommandRunner, FirewallBackend } from '../firewall/backend.js';
import { withFirewallLock } from '../firewall/firewall-lock.js';
import { removeLeftoverTemps } from '../fs/atomic-write.js';
import { outboxFile } from '../fleet/outbox-file.js';
import { FleetLink } from '../fleet/fleet-link.js';
import type { FleetTransport } from '../fleet/fleet-transport.js';
import { grantEnginePort, type GrantEnginePort } from '../fleet/grant-engine-port.js';
import { EMPTY_STATE, loadState, moveAsideCorrupt, saveState, type PersistedState } from '../grant/state-file.js';
import { StateStore } from '../grant/state-store.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ChunkSource } from '../source/chunk-source.js';
import type { StreamStarter } from '../firewall/interactive-process.js';
import { SpaService } from './spa-service.js';
import { UsedKeyRelay } from './used-key-relay.js';
import { SPA_USED_PREFIX } from '../spa/replay-share.js';
import { ATOMIC_STATE_FILES, controlSocketPath, fleetOutboxPath, stateFilePath } from './state-paths.js';
import type { RefusalChoice } from '../firewall/refusal.js';
import { describeForwardPlan } from '../firewall/forward-plan.js';
import type { ForwardPlan } from '../firewall/forward-plan.js';
import type { Tracer } from '../trace/stage-trace.js';
import { formatPort, type PortSpec } from '../model/door.js';
import { tripwirePorts } from '../model/tripwires.js';

// The daemon: the composition (compose.ts) plus what only a long-lived process has: the state
// file, the control socket, the periodic drift check, reload and an orderly stop.
export interface Logger {
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

export interface DaemonParts {
  readonly clock: Clock;
  /** Runs the configured backend's commands (ExecaRunner; tests give a SimulatedFirewall). */
  readonly runner: CommandRunner;
  /** Guard protected ports published by DNAT on the forward path (the real daemon; tests opt in). */
  readonly forward?: boolean;
  readonly audit: AuditSink;
  readonly source: ChunkSource & { position?: () => { path: string; offset: number; lagBytes: number } };
  readonly log: Logger;
  /** Epoch ms at boot, for kernel-uptime timestamps (a function: asked per line). */
  readonly bootTime: number | (() => number);
  readonly metrics?: Metrics;
  /** This host's addresses: a packet to any other DST= is foreign. Absent: destinations are not checked. */
  readonly localAddresses?: { current(): ReadonlySet<string> };
  /** Wraps the backend (metrics timing). */
  readonly wrapBackend?: (backend: FirewallBackend) => FirewallBackend;
  /** Backoff between command retries (tests pass a fake). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Marks the stages of the knock → open path (KNOCKTAIL_TRACE); passed in like the clock. */
  readonly tracer?: Tracer;
  /** Connects to the fleet's NATS servers (only called when the config has a fleet block). */
  readonly connectFleet?: (fleet: FleetConfig) => Promise<FleetTransport>;
  /** Reported in fleet heartbeats. */
  readonly version?: string;
  /** Starts the SPA captures (`tcpdump -i nflog:PORT`); without it SPA doors stay shut (a warning says so). */
  readonly spaStarter?: StreamStarter;
  /** The refusal the last guard setup chose and why (status shows it); absent when unknown. */
  readonly refusal?: () => RefusalChoice | undefined;
  /** Proves the log path with the canary before the guard is armed (src/canary/arm-guard.ts); absent: armed at once. */
  readonly proveLogPath?: ProveLogPath;
  /**
   * The ports local services listen on now (setup keeps them out of the tripwires): the periodic
   * check sets the guard up again when a tripwire port gains or loses a listener. Absent: not followed.
   */
  readonly listening?: () => Promise<readonly PortSpec[]>;
}

export { controlSocketPath, stateFilePath };

export class Daemon {
  private config: Config;
  private readonly parts: DaemonParts;
  private readonly abort = new AbortController();
  private readonly startedAt: number;
  private knocktail: Knocktail | undefined;
  private store: StateStore | undefined;
  private control: ControlServer | undefined;
  private checkTimer: TimerHandle | undefined;
  private loop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private recovery: StatusSnapshot['stateRecovery'];
  /** What the last DNAT probe found (setup and the periodic check), for status. */
  private forwardPlan: ForwardPlan | undefined;
  private fleetPort: GrantEnginePort | undefined;
  /** Single-use sequences and SPA packets used here, to the fleet link (held until one has joined). */
  private readonly usedKeys = new UsedKeyRelay((door) => this.config.fleet?.doors.includes(door) === true);
  private fleet: FleetLink | undefined;
  private fleetStarting: Promise<void> | undefined;
  private spa: SpaService | undefined;
  private logPath: LogPathHealth | undefined;
  /** The tripwire ports a service listened on when the guard was last set up ("tcp:8080 udp:5353"). */
  private listenedTripwires: string | undefined;

  constructor(config: Config, parts: DaemonParts) {
    this.config = config;
    this.parts = parts;
    this.startedAt = parts.clock.now();
  }

  /** Reconcile the firewall with the saved grants, open the control socket, start reading. */
  async start(): Promise<void> {
    const { config, parts } = this;
    await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
    // One daemon per state directory: a second one would fight the first over the firewall and the state.
    if (await controlSocketAnswers(controlSocketPath(config))) {
      throw new KnocktailError(
        'CONTROL_SOCKET',
        `Expected no other knocktail daemon on ${config.stateDir}, but one answers on its control socket ${controlSocketPath(config)}; stop it first (systemctl stop knocktail) or give this one another stateDir`,
      );
    }
    // Under the firewall lock from the state read to the reconcile, so a concurrent offline
    // `grant`/`revoke` or `setup` is either wholly before (its state write read here) or wholly after.
    const knocktail = await withFirewallLock(
      config.stateDir,
      { holder: `knocktail run (start, pid ${process.pid})` },
      () => this.prepare(),
    );
    knocktail.engine.start();
    this.listenedTripwires = await this.listeningTripwires();
    this.control = new ControlServer(
      controlSocketPath(config),
      new GrantController({
        grants: knocktail.engine,
        doors: () => this.config.doors,
        limits: () => this.config.limits,
        status: () => this.status(),
      }),
    );
    await this.control.start();
    await this.startSpa(knocktail);
    this.fleetStarting = this.startFleet();
    this.scheduleCheck();
    this.loop = this.readLoop();
    parts.log.info(
      `knocktail running: ${config.doors.length} doors, backend ${knocktail.backend.name}, source ${config.source === 'kmsg' ? '/dev/kmsg' : config.source === 'nflog' ? `${config.logFile} (ulogd2, NFLOG group ${config.nflog.group})` : config.logFile}`,
    );
  }

  // SPA doors read their own packets (NFLOG copies through tcpdump); grants go through the same engine.
  private async startSpa(knocktail: Knocktail): Promise<void> {
    const { config, parts } = this;
    if (!SpaService.needed(config)) return;
    if (!parts.spaStarter) {
      parts.log.warn('SPA doors configured but no packet capture available: they stay shut');
      return;
    }
    this.spa = new SpaService(config, {
      starter: parts.spaStarter,
      engine: knocktail.engine,
      counters: knocktail.counters,
      now: () => parts.clock.now(),
      onRefused: (door, src, reason, detail) => parts.log.info(`spa refused ${door} ${src}: ${reason} (${detail})`),
      onProblem: (message) => parts.log.error(`spa: ${message}`),
      onCount: (name) => parts.metrics?.incSpa(name),
      ...(parts.tracer ? { tracer: parts.tracer } : {}),
      // Shared with the group on fleet doors, like single-use sequences.
      onUsed: (key, door) => this.usedKeys.emit(key, door),
    });
    await this.spa.start();
  }

  /** Resolves when the daemon has stopped reading (after stop(), or on a fatal source error). */
  async done(): Promise<void> {
    await this.loop;
  }

  /**
   * Apply a new config (already validated): new guard rules, new doors. Knock progress restarts;
   * grants of removed doors and of sources the new allowFrom excludes close; the rest and the counters stay.
   */
  // Sweep, state read, composition, guard setup and reconcile: the part of start under the firewall lock.
  private async prepare(): Promise<Knocktail> {
    const { config, parts } = this;
    const leftovers = await removeLeftoverTemps(config.stateDir, ATOMIC_STATE_FILES);
    if (leftovers.length > 0)
      parts.log.info(
        `removed ${leftovers.length} temp file(s) a crash left in ${config.stateDir}: ${leftovers.join(', ')}`,
      );
    const state = await this.loadSavedState();
    const store = new StateStore<PersistedState>({
      clock: parts.clock,
      snapshot: () => ({
        version: 1,
        grants: knocktail.engine.grants(),
        usedOneTime: knocktail.tracker.usedOneTimeKeys(knocktail.clock.now()),
      }),
      save: (snapshot) => saveState(stateFilePath(this.config), snapshot),
      onError: (error) =>
        parts.log.error(`cannot save state: ${error instanceof Error ? error.message : String(error)}`),
    });
    const knocktail = compose(config, {
      clock: parts.clock,
      runner: parts.runner,
      forward: parts.forward === true,
      audit: parts.audit,
      source: parts.source,
      bootTime: parts.bootTime,
      ...(parts.localAddresses ? { localAddresses: () => parts.localAddresses?.current() } : {}),
      saved: state,
      store,
      ...(parts.wrapBackend ? { wrapBackend: parts.wrapBackend } : {}),
      ...(parts.sleep ? { sleep: parts.sleep } : {}),
      ...(parts.tracer ? { tracer: parts.tracer } : {}),
      onReject: (door, reason) => parts.metrics?.incRejected(door, reason),
      onRecord: (record) => {
        parts.metrics?.record(record);
        // The operational line repeats the audit record (already written) for people: it goes out
        // after the firewall request, not in front of it (0.1 ms on the knock → open path).
        setImmediate(() => parts.log.info(`${record.event} ${record.door} ${record.src}`, { ...record }));
        this.fleetPort?.emit(record);
      },
      onSequenceUsed: (key, door) => this.usedKeys.emit(key, door),
      onBadLine: (line, problem) => parts.log.warn(`skipped line: ${problem}`, { line: line.slice(0, 512) }),
      onError: (error) => parts.log.error(`grant engine: ${error instanceof Error ? error.message : String(error)}`),
    });
    this.knocktail = knocktail;
    this.store = store;
    if (this.recovery)
      await knocktail.audit.write({
        event: 'state-corrupt',
        at: this.recovery.at,
        door: '',
        src: '',
        file: stateFilePath(config),
        movedTo: this.recovery.movedTo,
        error: this.recovery.error,
      });
    parts.metrics?.trackCounters(() => knocktail.counters);
    if (config.fleet) parts.metrics?.trackFleet(() => this.fleet?.status());
    parts.metrics?.trackGauges(() => ({
      openGrants: knocktail.engine.size,
      trackedSources: knocktail.tracker.stats().trackedSources,
      scanners: knocktail.tracker.stats().scanners,
      lagBytes: this.parts.source.position?.().lagBytes ?? 0,
    }));
    // SPA packets are read through tcpdump: when it cannot capture, those knocks cannot arrive
    // either, so the guard is removed (if an earlier run left it armed) and the start fails.
    const spaProblem =
      parts.spaStarter && SpaService.needed(config) ? await SpaService.preflight(config, parts.spaStarter) : undefined;
    if (spaProblem !== undefined) {
      await knocktail.backend.teardown();
      const error = new KnocktailError(
        'LOG_PATH',
        `Refusing to arm the guard: ${spaProblem}. SPA knocks could not arrive, so nothing is hidden (the protected ports stay reachable).`,
      );
      parts.log.error(error.message);
      throw error;
    }
    // The guard (LOG + DROP) may be gone after a reboot or a firewall reload; setup is idempotent.
    // It is armed only once the canary proved that knocks can arrive; else it is removed and the start fails.
    this.logPath = await armGuard(knocktail.backend, config.doors, parts.proveLogPath);
    if (this.logPath?.ok === false) {
      const error = logPathError(this.logPath);
      parts.log.error(error.message, { advice: error.details });
      throw error;
    }
    if (this.logPath) parts.log.info(describeLogPath(this.logPath));
    // Nothing to repair right after setup: this reads the DNAT rules once more for status.
    this.forwardPlan = await knocktail.backend.checkForward?.(config.doors);
    await knocktail.engine.reconcile('start', { adoptOrphans: this.recovery === undefined });
    return knocktail;
  }

  async reload(config: Config): Promise<void> {
    const restartOnly = [
      'logFile',
      'source',
      'nflog',
      'stateDir',
      'auditLog',
      'logPrefix',
      'firewall',
      'metrics',
      'localAddresses',
      'fleet',
    ] as const;
    const changed = restartOnly.filter((key) => JSON.stringify(config[key]) !== JSON.stringify(this.config[key]));
    if (changed.length > 0)
      this.parts.log.warn(`reload: ${changed.join(', ')} changed; these take effect on restart only`);
    if (config.limits.maxGrants > this.config.limits.maxGrants)
      this.parts.log.warn(
        'reload: limits.maxGrants raised; the firewall sets are sized at start, so the higher limit takes effect on restart only',
      );
    const knocktail = this.knocktail;
    if (!knocktail) throw new KnocktailError('USAGE', 'reload() before start()');
    await withFirewallLock(this.config.stateDir, { holder: `knocktail run (reload, pid ${process.pid})` }, () =>
      knocktail.backend.setup(config.doors),
    );
    this.config = { ...this.config, doors: config.doors, limits: config.limits };
    this.listenedTripwires = await this.listeningTripwires();
    await knocktail.reload(this.config);
    this.spa?.reload(this.config);
    this.parts.log.info(`reloaded config: ${config.doors.length} doors`);
  }

  /** Stop reading, flush state; grants stay in the firewall with their expiry. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.abort.abort();
    await this.fleetStarting;
    await this.fleet?.stop().catch((error: unknown) => this.parts.log.warn(`fleet: stop failed: ${String(error)}`));
    await this.loop?.catch(() => undefined);
    await this.spa?.stop();
    if (this.checkTimer) this.parts.clock.clearTimer(this.checkTimer);
    this.knocktail?.stop();
    await this.knocktail?.engine.drain();
    await this.store?.flush();
    await this.control?.stop();
    await this.knocktail?.backend.stop?.();
    await this.parts.audit.close();
  }

  status(): StatusSnapshot {
    const knocktail = this.knocktail;
    const position = this.parts.source.position?.();
    const pending = knocktail?.engine.pendingCloses() ?? [];
    return {
      startedAt: new Date(this.startedAt).toISOString(),
      backend: knocktail?.backend.name ?? this.config.firewall.backend,
      backendHealthy: pending.length === 0,
      grants: (knocktail?.engine.grants() ?? []).map(statusGrant),
      trackedSources: knocktail?.tracker.stats().trackedSources ?? 0,
      ...(knocktail ? { scanners: knocktail.tracker.stats().scanners } : {}),
      ...(knocktail ? { inProgress: progressSnapshot(knocktail.tracker.inProgress(STATUS_PROGRESS_CAP)) } : {}),
      counters: { ...(knocktail?.counters ?? {}) },
      ...(position ? { follower: { path: position.path, offset: position.offset, lagBytes: position.lagBytes } } : {}),
      pendingCloses: pending,
      alwaysAllow: this.config.limits.alwaysAllow.map((cidr) => cidr.text),
      ...(this.recovery ? { stateRecovery: this.recovery } : {}),
      ...(this.logPath ? { logPath: describeLogPath(this.logPath) } : {}),
      ...(this.fleet ? { fleet: this.fleet.status() } : {}),
      ...(this.parts.refusal?.() ? { refusal: { ...this.parts.refusal()! } } : {}),
      ...(this.forwardPlan ? { forward: describeForwardPlan(this.forwardPlan, this.config.firewall.backend) } : {}),
    };
  }

  /** The fleet link, once joined; the daemon runs (local knocks, local expiry) whether or not NATS answers. */
  fleetLink(): FleetLink | undefined {
    return this.fleet;
  }

  private async startFleet(): Promise<void> {
    const { config, parts } = this;
    if (!config.fleet || !parts.connectFleet) return;
    const fleet = config.fleet;
    this.fleetPort = grantEnginePort({
      engine: () => this.knocktail?.engine,
      doors: () => this.config.doors,
      now: () => parts.clock.now(),
    });
    // Joining is retried in the background: NATS being down must never stop local doors.
    for (let attempt = 1; !this.abort.signal.aborted; attempt++) {
      let transport: FleetTransport | undefined;
      let link: FleetLink | undefined;
      try {
        transport = await parts.connectFleet(fleet);
        link = new FleetLink({
          config: fleet,
          maxOpenFor: config.limits.maxOpenFor,
          port: this.fleetPort,
          sequences: {
            // Used SPA packets (spa:…) go to the SPA replay cache, single-use sequences to the knock engine.
            markUsed: (key) =>
              key.startsWith(SPA_USED_PREFIX) ? this.spa?.markUsed(key) : this.knocktail?.tracker.markOneTimeUsed(key),
            onUsed: (listener) => this.usedKeys.listen(listener),
          },
          transport,
          clock: parts.clock,
          log: parts.log,
          version: parts.version ?? 'unknown',
          outbox: outboxFile(
            fleetOutboxPath(config),
            () => parts.clock.now(),
            (message) => parts.log.warn(message),
          ),
        });
        // stop() may have come while connecting (abort is flipped from outside this loop).
        if ((this.abort.signal as { aborted: boolean }).aborted) {
          await transport.close();
          return;
        }
        await link.start();
        this.fleet = link;
        parts.log.info(`fleet ${fleet.group}: member ${fleet.host}, fleet doors ${fleet.doors.join(', ') || 'none'}`);
        return;
      } catch (error) {
        // A link that failed to start stops: no retry timers on a closed transport, its outbox saved for the next attempt's.
        this.usedKeys.detach();
        await (link ? link.stop() : transport?.close())?.catch(() => undefined);
        parts.log.error(
          `fleet ${fleet.group}: cannot join (attempt ${attempt}; local doors keep working): ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      await abortableDelay(Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5)), this.abort.signal);
    }
  }

  // A state file whose content makes no sense fails closed: moved aside, no grants; reconcile
  // then removes every rule as an orphan. One that merely cannot be read (a root-owned 0600
  // file, a directory) is kept as it is and stops the start: its grants and used one-time
  // sequences are fine, and a fix of its owner or mode gets them all back.
  private async loadSavedState(): Promise<PersistedState> {
    const path = stateFilePath(this.config);
    try {
      return await loadState(path);
    } catch (error) {
      if (error instanceof KnocktailError && error.code === 'STATE_IO') {
        throw new KnocktailError(
          'STATE_IO',
          `${error.message}; it is left as it is (its grants and used one-time sequences are kept): give it to the user the daemon runs as, mode 0600 (e.g. chown knocktail: ${path}), and start again`,
          { cause: error },
        );
      }
      if (!(error instanceof KnocktailError) || error.code !== 'STATE_CORRUPT') throw error;
      const now = this.parts.clock.now();
      const movedTo = await moveAsideCorrupt(path, now);
      this.recovery = { at: isoTime(now), movedTo, error: error.message };
      this.parts.log.error(`state file unusable, starting with no grants: ${error.message}`, { movedTo });
      return EMPTY_STATE;
    }
  }

  private async readLoop(): Promise<void> {
    try {
      await this.knocktail!.run(this.abort.signal);
    } catch (error) {
      if (this.abort.signal.aborted) return;
      this.parts.log.error(`log source failed: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
  }

  // The guard's jump first (a ban tool's rule added since setup must stay ahead of it), then the
  // forward twin (a Docker restart may have dropped its jump, a container may publish a protected
  // port now), then the grants. A failing step is logged and the next ones still run.
  private async checkFirewall(): Promise<void> {
    const knocktail = this.knocktail;
    if (!knocktail) return;
    if (await knocktail.backend.checkGuard?.())
      this.parts.log.warn(
        "firewall check: moved INPUT's jump to knocktail's guard back behind the ban rules (or put a missing one back)",
      );
    await this.checkForward(knocktail.backend).catch((error: unknown) =>
      this.parts.log.error(`forward path check failed: ${String(error)}`),
    );
    await this.checkTripwireListeners(knocktail.backend);
    await knocktail.engine.reconcile('check');
  }

  // A service that starts listening on a tripwire port after setup would stay refused (and its
  // clients marked as scanners) until the next start or reload; one that stopped leaves a gap.
  private async checkTripwireListeners(backend: FirewallBackend): Promise<void> {
    const now = await this.listeningTripwires();
    const before = this.listenedTripwires;
    // Unknown at the last setup (unreadable then): what is read now is the baseline.
    if (before === undefined) this.listenedTripwires = now;
    if (now === undefined || before === undefined || now === before) return;
    this.parts.log.warn(
      `firewall check: listeners on tripwire ports changed (${before || 'none'} → ${now || 'none'}); the guard is set up again, so a service's port is never a tripwire`,
    );
    await withFirewallLock(this.config.stateDir, { holder: `knocktail run (check, pid ${process.pid})` }, () =>
      backend.setup(this.config.doors),
    );
    this.listenedTripwires = now;
  }

  /** The tripwire ports local services listen on now, as one comparable text; undefined when unknown. */
  private async listeningTripwires(): Promise<string | undefined> {
    const { listening, log } = this.parts;
    if (!listening) return undefined;
    try {
      const tripwires = new Set(tripwirePorts(this.config.doors, this.config.logPrefix).map(formatPort));
      const ports = (await listening()).map(formatPort).filter((port) => tripwires.has(port));
      return [...new Set(ports)].sort().join(' ');
    } catch (error) {
      log.warn(`cannot read the listening ports: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  }

  private async checkForward(backend: FirewallBackend): Promise<void> {
    if (!backend.checkForward) return;
    this.forwardPlan = await withFirewallLock(
      this.config.stateDir,
      { holder: `knocktail run (check, pid ${process.pid})` },
      () => backend.checkForward!(this.config.doors),
    );
  }

  private scheduleCheck(): void {
    const { clock } = this.parts;
    this.checkTimer = clock.setTimer(clock.now() + this.config.firewall.checkInterval * 1000, () => {
      void this.checkFirewall()
        .catch((error: unknown) => this.parts.log.error(`firewall check failed: ${String(error)}`))
        .finally(() => {
          if (!this.abort.signal.aborted) this.scheduleCheck();
        });
    });
  }
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
