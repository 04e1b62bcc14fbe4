import type { Family } from '../model/address.js';
import type { Door } from '../model/door.js';
import type { CommandExecutor } from './command-executor.js';
import { collectDoorPorts } from './door-ports.js';
import {
  buildForwardRestore,
  buildForwardSetupArgs,
  buildForwardTeardownRestore,
  EMPTY_FORWARD_STATE,
  forwardInPlace,
} from './forward-args.js';
import type { ForwardState } from './forward-args.js';
import { forwardPorts, NO_FORWARD } from './forward-plan.js';
import type { ForwardPlan, ForwardPort } from './forward-plan.js';
import { probeForward, readForwardState, unguardedError } from './forward-probe.js';
import type { GuardOptions } from './guard-args.js';
import { restoreBinary } from './iptables-args.js';

const FAMILIES: readonly Family[] = [4, 6];

/** The grant rules the forward chain needs for one family (iptables: one per held grant and port; ipset: one per door set). */
export type ForwardGrantSpecs = (family: Family) => Promise<readonly string[][]>;

// The forward twin of the iptables and ipset backends (KNOCKTAIL-FWD). It is installed once the
// DNAT probe finds a published protected port, and then stays (until teardown) refusing every
// protected port in both families: Docker's DNAT vanishes for a moment when dockerd restarts,
// and a check that ran in that moment must not open the port it re-publishes a second later.
// Each family's change is one transaction.
export class ForwardTwin {
  private readonly exec: CommandExecutor;
  /** The guard options of the last setup (its resolved refusal); the constructor's until then. */
  private options: GuardOptions;
  private plan: ForwardPlan = NO_FORWARD;
  /** What the chains refuse since the last install (JSON), to tell a changed config from a repair. */
  private installed = '[]';

  constructor(exec: CommandExecutor, options: GuardOptions) {
    this.exec = exec;
    this.options = options;
  }

  /** The last probe's plan. */
  current(): ForwardPlan {
    return this.plan;
  }

  /** Setup's first step, before anything changes: probes, and refuses a protected port published in a way it cannot guard. */
  async prepare(doors: readonly Door[]): Promise<ForwardPlan> {
    const plan = await probeForward(this.exec, collectDoorPorts(doors).protectedPorts);
    const error = unguardedError(plan);
    if (error) throw error;
    return plan;
  }

  /** Setup's last step: installs the twin in both families when a protected port is published or the twin is there already. */
  async install(
    plan: ForwardPlan,
    doors: readonly Door[],
    options: GuardOptions,
    grantSpecs: ForwardGrantSpecs,
  ): Promise<void> {
    this.options = options;
    await this.bring(plan, doors, grantSpecs, true);
  }

  /** Probes again and repairs what is missing (a lost jump, a chain gone); returns the families it rewrote. */
  async check(doors: readonly Door[], grantSpecs: ForwardGrantSpecs): Promise<Family[]> {
    return this.bring(await probeForward(this.exec, collectDoorPorts(doors).protectedPorts), doors, grantSpecs, false);
  }

  /** Removes the jumps and the chain in every family. */
  async teardown(): Promise<void> {
    for (const family of FAMILIES) {
      const input = buildForwardTeardownRestore(await readForwardState(this.exec, family));
      if (input !== undefined) await this.exec.run(restoreBinary(family), { input });
    }
    this.plan = NO_FORWARD;
    this.installed = '[]';
  }

  /** The commands for `knocktail rules`, from the last probe (none before one, or when nothing is published). */
  describe(doors: readonly Door[], family: Family, options: GuardOptions, grantSpecs: readonly string[][]): string[][] {
    if (this.plan.guards.length === 0) return [];
    return buildForwardSetupArgs(
      forwardPorts(collectDoorPorts(doors).protectedPorts),
      family,
      options,
      EMPTY_FORWARD_STATE,
      grantSpecs,
    );
  }

  private async bring(
    plan: ForwardPlan,
    doors: readonly Door[],
    grantSpecs: ForwardGrantSpecs,
    force: boolean,
  ): Promise<Family[]> {
    const states = new Map<Family, ForwardState>();
    for (const family of FAMILIES) states.set(family, await readForwardState(this.exec, family));
    const active = plan.guards.length > 0 || [...states.values()].some((state) => state.chain);
    const ports: ForwardPort[] = active ? forwardPorts(collectDoorPorts(doors).protectedPorts) : [];
    const changed = force || JSON.stringify(ports) !== this.installed;
    const rewritten: Family[] = [];
    for (const family of FAMILIES) {
      const state = states.get(family)!;
      if (!changed && forwardInPlace(state, ports.length > 0)) continue;
      const input = buildForwardRestore(
        ports,
        family,
        this.options,
        state,
        ports.length > 0 ? await grantSpecs(family) : [],
      );
      if (input === undefined) continue;
      await this.exec.run(restoreBinary(family), { input });
      rewritten.push(family);
    }
    this.plan = plan;
    this.installed = JSON.stringify(ports);
    return rewritten;
  }
}
