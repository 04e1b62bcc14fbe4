import type { Family } from '../address.js';
import type { Grant } from '../model/grant.js';
import { grantKey } from '../model/grant.js';
import type { Door } from '../model/door.js';
import type { FirewallBackend } from './backend.js';
import type { CommandExecutor } from './command-executor.js';
import { formatGrantComment } from './grant-comment.js';
import { buildGuardSetupArgs, buildGuardTeardownArgs } from './guard-args.js';
import type { GuardOptions } from './guard-args.js';
import { installGuard, removeGuard } from './guard-installer.js';
import { buildGrantAddArgs, buildGrantCheckArgs, buildGrantDeleteArgs, buildGrantListArgs } from './iptables-args.js';
import { parseGrantListing } from './iptables-listing.js';

const FAMILIES: readonly Family[] = [4, 6];

// One ACCEPT rule per grant and port in chain KNOCKTAIL (ip6tables for IPv6 sources).
// The expiry lives in the rule's comment, so a refresh with a new expiry is make-before-break:
// the new rule is added first and the old one deleted after, and the port never closes in between.
// The backend remembers what it installed (seeded by list()) to find the old rule without a listing.
export class IptablesBackend implements FirewallBackend {
  readonly name = 'iptables';
  private readonly exec: CommandExecutor;
  private readonly guard: GuardOptions;
  private readonly now: () => number;
  private readonly held = new Map<string, Grant>();

  constructor(exec: CommandExecutor, guard: GuardOptions, now: () => number) {
    this.exec = exec;
    this.guard = guard;
    this.now = now;
  }

  async open(grant: Grant): Promise<void> {
    const key = grantKey(grant);
    const previous = this.held.get(key);
    for (const port of grant.ports) {
      if (!(await this.exec.ask(buildGrantCheckArgs(grant, port)))) await this.exec.run(buildGrantAddArgs(grant, port));
    }
    this.held.set(key, grant);
    if (previous && formatGrantComment(previous.door, previous.until) !== formatGrantComment(grant.door, grant.until)) {
      await this.removeRules(previous);
    } else if (previous) {
      // Same expiry: only ports the grant no longer has must go.
      const stale = previous.ports.filter((p) => !grant.ports.some((q) => q.proto === p.proto && q.port === p.port));
      await this.removeRules({ ...previous, ports: stale });
    }
  }

  async close(grant: Grant): Promise<void> {
    const key = grantKey(grant);
    const previous = this.held.get(key);
    await this.removeRules(grant);
    if (previous && formatGrantComment(previous.door, previous.until) !== formatGrantComment(grant.door, grant.until)) {
      await this.removeRules(previous);
    }
    this.held.delete(key);
  }

  async list(): Promise<Grant[]> {
    const grants: Grant[] = [];
    for (const family of FAMILIES) {
      const listing = await this.exec.run(buildGrantListArgs(family), { accept: [0, 1] });
      if (listing.exitCode === 0) grants.push(...parseGrantListing(listing.stdout, family, this.now()));
    }
    this.held.clear();
    for (const grant of grants) this.held.set(grantKey(grant), grant);
    return grants;
  }

  async setup(doors: readonly Door[]): Promise<void> {
    for (const family of FAMILIES) await installGuard(this.exec, doors, family, this.guard);
  }

  async teardown(): Promise<void> {
    for (const family of FAMILIES) await removeGuard(this.exec, family);
    this.held.clear();
  }

  describeSetup(doors: readonly Door[]): string[][] {
    return FAMILIES.flatMap((family) => buildGuardSetupArgs(doors, family, this.guard));
  }

  /** The commands teardown() runs when everything is in place. */
  describeTeardown(): string[][] {
    return FAMILIES.flatMap((family) => buildGuardTeardownArgs(family));
  }

  // Deletes a grant's rules that are present; absent ones are not an error.
  private async removeRules(grant: Grant): Promise<void> {
    for (const port of grant.ports) {
      if (await this.exec.ask(buildGrantCheckArgs(grant, port))) await this.exec.run(buildGrantDeleteArgs(grant, port));
    }
  }
}
