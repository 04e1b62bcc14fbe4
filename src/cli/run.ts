import { createAuditLog } from '../audit/audit-log.js';
import { loadConfig } from '../config/load-config.js';
import { Daemon } from '../app/daemon.js';
import { ExecaRunner } from '../firewall/command-runner.js';
import { notifyServiceManager, type ServiceState } from '../host/service-manager.js';
import { ensurePrivateDir } from '../fs/private-dir.js';
import { LocalAddresses } from '../host/local-addresses.js';
import {
  NF_LOG_ALL_NETNS_UNREADABLE_WARNING,
  NF_LOG_ALL_NETNS_WARNING,
  readNfLogAllNetns,
} from '../host/nf-log-all-netns.js';
import { Metrics } from '../metrics/metrics.js';
import { serveMetrics } from '../metrics/metrics-server.js';
import { writeTextfile } from '../metrics/metrics-textfile.js';
import { timeBackend } from '../metrics/timed-backend.js';
import { FileFollower } from '../source/follower.js';
import { KmsgSource } from '../source/kmsg-source.js';
import { KmsgWaker } from '../source/kmsg-waker.js';
import { configPath } from './context.js';
import { createLogPathProver } from './log-path-prover.js';
import { fileTraceSink, NO_TRACE, sinkTracer } from '../trace/stage-trace.js';
import type { CommandAction } from './command-table.js';
import type { FirewallBackend } from '../firewall/backend.js';
import { describeRefusal } from '../firewall/refusal.js';
import type { GuardHost, RefusalChoice } from '../firewall/refusal.js';
import { createLogger, createSystemClock, hostChecked, listeningNow, printkEpoch } from './wiring.js';
import { bucketTtl } from '../fleet/fleet-keys.js';
import { connectNatsFleet } from '../fleet/nats-transport.js';
import { packageVersion } from './program.js';
import { followerCheckpointPath } from '../app/state-paths.js';

// `knocktail run`: the daemon. SIGHUP reloads (validated first), SIGTERM/SIGINT stop cleanly.
export const run: CommandAction<[], { config?: string }> = async (ctx, _args, flags) => {
  const path = configPath(ctx, flags.config);
  const config = await loadConfig(path);
  // Stage timestamps for the live bench (src/trace/stage-trace.ts); off unless asked for.
  const tracer = ctx.env['KNOCKTAIL_TRACE'] ? sinkTracer(fileTraceSink(ctx.env['KNOCKTAIL_TRACE'])) : NO_TRACE;
  const log = createLogger(ctx);
  const clock = createSystemClock();
  await ensurePrivateDir(config.stateDir, process.getuid?.() ?? 0);
  // NFLOG is delivered in the packet's own namespace: nf_log_all_netns concerns LOG lines only.
  const logAllNetns = config.source === 'nflog' ? false : await readNfLogAllNetns();
  if (logAllNetns !== false) log.warn(logAllNetns ? NF_LOG_ALL_NETNS_WARNING : NF_LOG_ALL_NETNS_UNREADABLE_WARNING);
  const localAddresses = new LocalAddresses({
    fixed: config.localAddresses,
    runner: new ExecaRunner(),
    clock,
    onChange: (addresses) => log.info(`this host's addresses changed: ${addresses.join(' ')}`),
    onError: (error) => log.warn(`could not refresh this host's addresses, keeping the last ones: ${String(error)}`),
  });
  await localAddresses.start();
  log.info(
    `knocks count only when DST= is one of: ${[...localAddresses.current()].join(' ')}${config.localAddresses.length > 0 ? ' (from the config)' : ' (ip -j addr, refreshed every 30s)'}`,
  );
  const metrics = config.metrics.listen || config.metrics.textfile ? new Metrics() : undefined;
  metrics?.collectProcessMetrics();
  // "file" and "nflog" both follow logFile (rsyslog's or knocktail's ulogd2's); the parser tells their lines apart.
  const source =
    config.source === 'kmsg'
      ? new KmsgSource({ waker: new KmsgWaker('/dev/kmsg', undefined, undefined, tracer), tracer })
      : new FileFollower({
          path: config.logFile,
          checkpointPath: followerCheckpointPath(config),
          startAt: 'end',
          onEvent: (event) => log.info(`follower: ${event.type}`, { ...event }),
          tracer,
        });
  const runner = new ExecaRunner();
  // As createFirewall(): setup() first checks the host's own firewall; metrics time every change.
  let refusal: RefusalChoice | undefined;
  const onHost = (host: GuardHost): void => {
    refusal = host.refusal;
    log.info(
      `guard ${describeRefusal(host.refusal)}; ${host.listening.length} listening port(s) kept out of the tripwires`,
    );
  };
  const wrapBackend = (backend: FirewallBackend): FirewallBackend => {
    const checked = hostChecked(config, runner, onHost)(backend);
    return metrics
      ? timeBackend(checked, (action, seconds) => metrics.observeFirewallLatency(action, seconds))
      : checked;
  };
  const daemon = new Daemon(config, {
    clock,
    runner,
    forward: true,
    wrapBackend,
    audit: createAuditLog(config.auditLog, { backend: config.firewall.backend, tracer }),
    tracer,
    source,
    log,
    // /dev/kmsg stamps: printk's clock, which a suspend does not advance (see printkEpoch).
    bootTime: printkEpoch,
    localAddresses,
    ...(metrics ? { metrics } : {}),
    // A revoke stays in the bucket longer than any grant it may have to close.
    spaStarter: runner,
    connectFleet: (fleet) => connectNatsFleet(fleet, { bucketTtl: bucketTtl(config.limits.maxOpenFor) }),
    version: packageVersion(),
    refusal: () => refusal,
    proveLogPath: createLogPathProver(config),
    listening: listeningNow(),
  });
  try {
    await daemon.start();
  } catch (error) {
    // A refused start (the canary's line never came) must not leave timers holding the process.
    localAddresses.stop();
    await daemon.stop();
    throw error;
  }
  const server = metrics && config.metrics.listen ? await serveMetrics(metrics, config.metrics.listen) : undefined;
  const notify = (state: ServiceState): Promise<void> =>
    notifyServiceManager(runner, ctx.env, state).then((problem) => {
      if (problem) log.warn(problem);
    });
  await notify({ ready: true, status: `running: ${config.doors.length} doors, backend ${daemon.status().backend}` });
  const textfileTimer =
    metrics && config.metrics.textfile
      ? setInterval(() => {
          void writeTextfile(metrics, config.metrics.textfile!).catch((error: unknown) =>
            log.warn(`metrics textfile: ${String(error)}`),
          );
        }, 15_000)
      : undefined;
  ctx.signals.onStop(() => {
    log.info('stopping');
    void notify({ stopping: true });
    void daemon.stop();
  });
  ctx.signals.onReload(() => {
    loadConfig(path)
      .then((next) => daemon.reload(next))
      .catch((error: unknown) =>
        log.error(
          `reload refused, keeping the running config: ${error instanceof Error ? error.message : String(error)}`,
          { details: (error as { details?: unknown }).details },
        ),
      );
  });
  try {
    await daemon.done();
  } finally {
    if (textfileTimer) clearInterval(textfileTimer);
    localAddresses.stop();
    await server?.close();
    await daemon.stop();
  }
  return 0;
};
