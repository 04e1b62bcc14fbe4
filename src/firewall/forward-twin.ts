import type { Family } from '../address.js';
import type { Door } from '../model/door.js';
import type { CommandExecutor } from './command-executor.js';
import { collectDoorPorts } from './door-ports.js';
import { buildForwardRestore, buildForwardSetupArgs, buildForwardTeardownRestore, EMPTY_FORWARD_STATE, forwardInPlace } from './forward-args.js';
import { guardsOf, NO_FORWARD } from './forward-plan.js';
import type { ForwardPlan } from './forward-plan.js';
import { probeForward, readForwardState, unguardedError } from './forward-probe.js';
import type { GuardOptions } from './guard-args.js';
import { restoreBinary } from './iptables-args.js';

const FAMILIES: readonly Family[] = [4, 6];

/** The grant rules the forward chain needs for one family (iptables: one per held grant and port; ipset: one per door set). */
export type ForwardGrantSpecs = (family: Family) => Promise<readonly string[][]>;

// The forward twin of the iptables and ipset backends (KNOCKTAIL-FWD): follows the DNAT probe's
// plan at setup and in the periodic check; each family's change is one transaction.
export class ForwardTwin {
  private readonly exec: CommandExecutor;
  private readonly options: GuardOptions;
  private plan: ForwardPlan = NO_FORWARD;

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

  /** Setup's last step: installs (or removes) the twin in every family as `plan` says. */
  async install(plan: ForwardPlan, grantSpecs: ForwardGrantSpecs): Promise<void> {
    for (const family of FAMILIES) await this.apply(plan, family, grantSpecs, true);
    this.plan = plan;
  }

  /** Probes again and repairs what changed (a lost jump, a port published or withdrawn); returns the families it rewrote. */
  async check(doors: readonly Door[], grantSpecs: ForwardGrantSpecs): Promise<Family[]> {
    const plan = await probeForward(this.exec, collectDoorPorts(doors).protectedPorts);
    const changed: Family[] = [];
    for (const family of FAMILIES) {
      const same = JSON.stringify(guardsOf(plan, family)) === JSON.stringify(guardsOf(this.plan, family));
      if (await this.apply(plan, family, grantSpecs, !same)) changed.push(family);
    }
    this.plan = plan;
    return changed;
  }

  /** Removes the jumps and the chain in every family. */
  async teardown(): Promise<void> {
    for (const family of FAMILIES) {
      const input = buildForwardTeardownRestore(await readForwardState(this.exec, family));
      if (input !== undefined) await this.exec.run(restoreBinary(family), { input });
    }
    this.plan = NO_FORWARD;
  }

  /** The commands for `knocktail rules`, from the last probe (none before one). */
  describe(family: Family, grantSpecs: readonly string[][]): string[][] {
    return buildForwardSetupArgs(guardsOf(this.plan, family), family, this.options, EMPTY_FORWARD_STATE, grantSpecs);
  }

  private async apply(plan: ForwardPlan, family: Family, grantSpecs: ForwardGrantSpecs, force: boolean): Promise<boolean> {
    const guards = guardsOf(plan, family);
    const state = await readForwardState(this.exec, family);
    if (!force && forwardInPlace(state, guards.length > 0)) return false;
    const input = buildForwardRestore(guards, family, this.options, state, guards.length > 0 ? await grantSpecs(family) : []);
    if (input === undefined) return false;
    await this.exec.run(restoreBinary(family), { input });
    return true;
  }
}
