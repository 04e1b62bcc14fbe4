import { uptime } from 'node:os';
import winston from 'winston';
import { SystemClock, type Clock } from '../clock.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../daemon.js';
import { ExecaRunner } from '../firewall/command-runner.js';
import type { FirewallBackend } from '../firewall/backend.js';
import { selectBackend } from '../firewall/select-backend.js';
import { withHostFirewallCheck } from '../firewall/host-firewall-check.js';
import type { CliContext } from './context.js';

// The parts every firewall-touching command builds the same way.
// Its setup() first checks the host's own firewall (ufw, firewalld, nftables) and refuses a backend whose grants it would drop.
export function createFirewall(config: Config, clock: Clock): FirewallBackend {
  const runner = new ExecaRunner();
  const backend = selectBackend({ ...config.firewall, logPrefix: config.logPrefix, alwaysAllow: config.limits.alwaysAllow, setSize: config.limits.maxGrants }, { runner, now: () => clock.now(), forward: true });
  return withHostFirewallCheck(backend, runner, { backend: config.firewall.backend, mode: config.firewall.hostFirewall ?? 'check' });
}

export function createSystemClock(): SystemClock {
  return new SystemClock();
}

/** Epoch ms at boot, for kernel-uptime timestamps. */
export function bootTime(): number {
  return Date.now() - uptime() * 1000;
}

/** Operational log for journald: one line per message on stderr, metadata as JSON. */
export function createLogger(ctx: CliContext): Logger {
  return winston.createLogger({
    level: ctx.env['KNOCKTAIL_LOG_LEVEL'] ?? 'info',
    format: winston.format.printf(({ level, message, ...meta }) => {
      const extra = Object.keys(meta).length > 0 ? ` ${JSON.stringify(meta)}` : '';
      return `${level}: ${String(message)}${extra}`;
    }),
    transports: [new winston.transports.Stream({ stream: ctx.stderr })],
  });
}
