import type { Door } from '../model/door.js';
import type { Grant } from '../model/grant.js';
import type { ForwardPlan } from './forward-plan.js';
import type { GuardHost } from './refusal.js';

// The seam between grants and a real firewall. Every backend is idempotent:
// opening a held grant refreshes it in place, closing an absent one is a no-op.
export interface FirewallBackend {
  readonly name: string;
  /** Make the firewall admit `grant.src` to `grant.ports` (refresh in place if present). */
  open(grant: Grant): Promise<void>;
  /** Remove the grant's rules/elements; no-op if absent. */
  close(grant: Grant): Promise<void>;
  /** Grants the firewall currently holds (door, src, family, ports, until), for reconcile. */
  list(): Promise<Grant[]>;
  /**
   * Create/refresh knocktail's chains, sets, LOG and guard rules for these doors (idempotent).
   * `host`: the refusal and listening ports found at setup (host-firewall-check.ts resolves them);
   * absent, the configured refusal ("auto": reject) and no listener.
   */
  setup(doors: readonly Door[], host?: GuardHost, options?: SetupOptions): Promise<void>;
  /** Remove everything knocktail added, and nothing else. */
  teardown(): Promise<void>;
  /**
   * Whether an armed guard is in place now (jumped to, refusing more than the canary): a re-arm
   * (a reload, a second `setup`) then replaces it armed, never passing through the unarmed first
   * phase, which would open the protected ports for a moment. Optional: absent, always false.
   */
  isArmed?(): Promise<boolean>;
  /** The commands `setup` would run, one argv per line, for `knocktail rules`. */
  describeSetup(doors: readonly Door[], host?: GuardHost): string[][];
  /**
   * The periodic check of the guard itself (optional): puts INPUT's jump back where it belongs,
   * behind a ban tool's rule added since setup (iptables, ipset). True when it changed something.
   */
  checkGuard?(): Promise<boolean>;
  /**
   * Re-reads the host's DNAT rules and brings the forward twin in line (a published protected
   * port appeared or went, Docker restarted and lost the jump): the periodic check. Optional;
   * undefined when the DNAT probe is off (tests, replay).
   */
  checkForward?(doors: readonly Door[]): Promise<ForwardPlan | undefined>;
  /** Ends long-lived helper processes (nftables keeps one `nft -i`); optional and idempotent. */
  stop?(): Promise<void>;
}

/** How far setup arms the guard (docs/guard-rules.md). */
export interface SetupOptions {
  /**
   * false: the log rules and the canary only, nothing else refused: the first phase of arming,
   * while the canary proves that tagged packets reach the daemon (src/canary/arm-guard.ts). Default true.
   */
  readonly armed?: boolean;
}

export interface CommandResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

// Runs one argv (never a shell). A non-zero exit is returned, not thrown; a missing binary throws.
export interface CommandRunner {
  run(argv: readonly string[], options?: { input?: string }): Promise<CommandResult>;
}
