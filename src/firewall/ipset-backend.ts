import type { Family } from '../model/address.js';
import type { Grant } from '../model/grant.js';
import type { Door } from '../model/door.js';
import type { CommandResult, FirewallBackend, SetupOptions } from './backend.js';
import type { CommandExecutor } from './command-executor.js';
import { buildGuardSetupArgs, buildGuardTeardownArgs } from './guard-args.js';
import type { GuardOptions } from './guard-args.js';
import { planGuardFields } from './guard-plan.js';
import type { GuardHost, RefusalSetting } from './refusal.js';
import { guardArmed, installGuard, removeGuard, repairJump } from './guard-installer.js';
import {
  buildAddMemberArgs,
  buildCreateSetArgs,
  buildDelMemberArgs,
  buildDestroyRestore,
  buildDestroySetArgs,
  buildSetMatchSpecs,
  buildSetsRestore,
  IPSET_RESTORE_ARGV,
  SET_PREFIX,
  setName,
} from './ipset-args.js';
import { buildResizeRestore, RESIZE_SET } from './ipset-resize.js';
import { buildGrantListArgs } from './iptables-args.js';
import { parseSetListing, parseSetPorts } from './ipset-listing.js';
import type { LineSession } from './line-session.js';
import { buildForwardSetSpecs } from './forward-args.js';
import type { ForwardPlan } from './forward-plan.js';
import { ForwardTwin } from './forward-twin.js';

const FAMILIES: readonly Family[] = [4, 6];

// Grants as members of per-door sets with kernel timeouts; KNOCKTAIL holds one match-set
// rule per door and port, so opening a grant is one `ipset add` whatever the number of grants.
// With a session the add/del goes to one long-lived `ipset -`; a failure there is repeated as a
// one-shot command with retries.
export class IpsetBackend implements FirewallBackend {
  readonly name = 'ipset';
  private readonly exec: CommandExecutor;
  private readonly guard: GuardOptions & { readonly refusalSetting?: RefusalSetting };
  private readonly now: () => number;
  private readonly session: LineSession | undefined;
  /** Size of each door's grant set (limits.maxGrants); undefined = the tool's default. */
  private readonly setSize: number | undefined;
  /** The forward twin (KNOCKTAIL-FWD, matching the same sets) when the DNAT probe is on. */
  private readonly twin: ForwardTwin | undefined;

  /** `forward`: probe DNAT at setup and guard published protected ports on the forward path too. */
  constructor(
    exec: CommandExecutor,
    guard: GuardOptions & { readonly refusalSetting?: RefusalSetting },
    now: () => number,
    session?: LineSession,
    setSize?: number,
    forward = false,
  ) {
    this.exec = exec;
    this.guard = guard;
    this.now = now;
    this.session = session;
    this.setSize = setSize;
    this.twin = forward ? new ForwardTwin(exec, guard) : undefined;
  }

  async open(grant: Grant): Promise<void> {
    if (grant.until !== null && grant.until <= this.now()) return this.close(grant);
    const argv = buildAddMemberArgs(grant, this.now());
    if ((await this.attempt(argv)).exitCode !== 0) await this.exec.run(argv);
  }

  async close(grant: Grant): Promise<void> {
    const argv = buildDelMemberArgs(grant);
    const result = await this.attempt(argv);
    // A missing set means nothing to close; any other failure gets the full retry treatment.
    if (result.exitCode !== 0 && !/does not exist/.test(result.stderr)) await this.exec.run(argv);
  }

  stop(): Promise<void> {
    this.session?.stop();
    return Promise.resolve();
  }

  async list(): Promise<Grant[]> {
    const saved = await this.exec.run(['ipset', 'save']);
    const ports = new Map();
    for (const family of FAMILIES) {
      const rules = await this.exec.run(buildGrantListArgs(family), { accept: [0, 1] });
      for (const [set, list] of parseSetPorts(rules.stdout)) ports.set(set, list);
    }
    return parseSetListing(saved.stdout, ports, this.now());
  }

  // The sets in one `ipset restore`, then per family one iptables transaction for both chains.
  async setup(doors: readonly Door[], host?: GuardHost, options: SetupOptions = {}): Promise<void> {
    // The first phase of arming (armed: false) refuses nothing: the forward twin waits for the second.
    const plan = options.armed === false ? undefined : await this.twin?.prepare(doors);
    if (doors.length > 0) await this.createSets(doors);
    const guard = { ...this.guardFor(doors, host), ...options };
    for (const family of FAMILIES) {
      await installGuard(
        this.exec,
        doors,
        family,
        guard,
        doors.flatMap((door) => buildSetMatchSpecs(door, family)),
      );
    }
    if (plan) await this.twin?.install(plan, doors, guard, (family) => Promise.resolve(forwardSetSpecs(doors, family)));
  }

  async checkForward(doors: readonly Door[]): Promise<ForwardPlan | undefined> {
    if (!this.twin) return undefined;
    await this.twin.check(doors, (family) => Promise.resolve(forwardSetSpecs(doors, family)));
    return this.twin.current();
  }

  // Every set in one `ipset restore`; a set from an older config (another maxelem) fails it, and is then resized.
  private async createSets(doors: readonly Door[]): Promise<void> {
    const input = buildSetsRestore(doors, this.setSize);
    const result = await this.exec.run(IPSET_RESTORE_ARGV, { input, accept: [0, 1] });
    if (result.exitCode === 0) return;
    if (this.setSize === undefined || !/already exists/.test(result.stderr)) {
      await this.exec.run(IPSET_RESTORE_ARGV, { input });
      return;
    }
    for (const family of FAMILIES) for (const door of doors) await this.createSet(door.name, family);
  }

  // A set from an older config (another maxelem) cannot be re-created in place: build one of the new
  // size, copy the members (with their timeouts left), swap it in (rules follow the name), drop the old.
  private async createSet(door: string, family: Family): Promise<void> {
    const created = await this.exec.run(buildCreateSetArgs(door, family, this.setSize), { accept: [0, 1] });
    if (created.exitCode === 0) return;
    if (this.setSize === undefined || !/already exists/.test(created.stderr)) {
      await this.exec.run(buildCreateSetArgs(door, family, this.setSize));
      return;
    }
    const name = setName(door, family);
    const saved = await this.exec.run(['ipset', 'save', name]);
    await this.exec.run(['ipset', 'destroy', RESIZE_SET], { accept: [0, 1] });
    await this.exec.run(['ipset', 'restore'], {
      input: buildResizeRestore(saved.stdout, name, RESIZE_SET, this.setSize),
    });
    await this.exec.run(['ipset', 'swap', RESIZE_SET, name]);
    await this.exec.run(['ipset', 'destroy', RESIZE_SET]);
  }

  async checkGuard(): Promise<boolean> {
    let changed = false;
    for (const family of FAMILIES) changed = (await repairJump(this.exec, family, this.guard)) || changed;
    return changed;
  }

  isArmed(): Promise<boolean> {
    return guardArmed(this.exec, 4);
  }

  async teardown(): Promise<void> {
    await this.twin?.teardown();
    for (const family of FAMILIES) await removeGuard(this.exec, family);
    const names = await this.exec.run(['ipset', 'list', '-n']);
    const ours = names.stdout
      .split('\n')
      .map((line) => line.trim())
      .filter((name) => name.startsWith(SET_PREFIX));
    if (ours.length > 0) await this.exec.run(IPSET_RESTORE_ARGV, { input: buildDestroyRestore(ours) });
  }

  // One try, through the session when there is one (the argv minus `ipset` is an interactive command).
  private async attempt(argv: readonly string[]): Promise<CommandResult> {
    if (this.session) return this.session.run([argv.slice(1).join(' ')]);
    return this.exec.run(argv, { accept: [0, 1] });
  }

  private guardFor(doors: readonly Door[], host?: GuardHost): GuardOptions {
    return { ...this.guard, ...planGuardFields(doors, this.guard.logPrefix, this.guard.refusalSetting, host) };
  }

  describeSetup(doors: readonly Door[], host?: GuardHost): string[][] {
    const guard = this.guardFor(doors, host);
    return FAMILIES.flatMap((family) => [
      ...doors.map((door) => buildCreateSetArgs(door.name, family, this.setSize)),
      ...buildGuardSetupArgs(
        doors,
        family,
        guard,
        doors.flatMap((door) => buildSetMatchSpecs(door, family)),
      ),
      ...(this.twin?.describe(doors, family, guard, forwardSetSpecs(doors, family)) ?? []),
    ]);
  }

  /** The commands teardown() runs when everything for these doors is in place. */
  describeTeardown(doors: readonly Door[]): string[][] {
    return [
      ...FAMILIES.flatMap((family) => buildGuardTeardownArgs(family)),
      ...FAMILIES.flatMap((family) => doors.map((door) => buildDestroySetArgs(setName(door.name, family)))),
    ];
  }
}

// The forward twin's grant rules: the doors' shared sets, matched against the published (original) port.
function forwardSetSpecs(doors: readonly Door[], family: Family): string[][] {
  return doors.flatMap((door) => buildForwardSetSpecs(setName(door.name, family), door.open));
}
