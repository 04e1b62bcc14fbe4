import type { Family } from '../model/address.js';
import type { Grant } from '../model/grant.js';
import { grantKey } from '../model/grant.js';
import type { Door } from '../model/door.js';
import type { CommandResult, FirewallBackend, SetupOptions } from './backend.js';
import type { CommandExecutor } from './command-executor.js';
import { checkGrant } from './grant-check.js';
import { buildGuardSetupArgs, buildGuardTeardownArgs } from './guard-args.js';
import type { GuardOptions } from './guard-args.js';
import { planGuardFields } from './guard-plan.js';
import type { GuardHost, RefusalSetting } from './refusal.js';
import { guardArmed, installGuard, removeGuard, repairJump } from './guard-installer.js';
import { buildGrantListArgs, buildGrantRuleText, GRANT_CHAIN, restoreBinary, tablesBinary } from './iptables-args.js';
import { parseGrantListing, parseGrantRules } from './iptables-listing.js';
import type { ListedGrantRule } from './iptables-listing.js';
import type { LineSession } from './line-session.js';
import { buildFilterTransactionText, formatRestoreLine } from './restore-text.js';
import { buildForwardGrantSpec, FORWARD_CHAIN, forwardGrantPosition } from './forward-args.js';
import type { ForwardPlan } from './forward-plan.js';
import { ForwardTwin } from './forward-twin.js';

const FAMILIES: readonly Family[] = [4, 6];

/** A grant rule the chain holds: what identifies it, and the words that delete exactly it. */
interface HeldRule {
  readonly identity: string;
  /** The words after the chain name, for a listed rule (its delete must repeat them). */
  readonly spec?: readonly string[];
  /** The rule as restore-line text (formatRestoreLine of `spec`): built directly for a wanted rule, kept once made for a listed one. */
  text?: string;
  /** A forward twin in KNOCKTAIL-FWD (inserted ahead of the refusals) rather than a rule of KNOCKTAIL. */
  readonly forward?: boolean;
}

const NO_RULES: readonly HeldRule[] = [];

/** The rule's restore line for `op` (`-A`, `-D`) in the grant chain; a forward twin's add is an insert at `forwardAt`. */
function ruleLine(op: string, rule: HeldRule, forwardAt: number): string {
  rule.text ??= formatRestoreLine(rule.spec ?? []);
  const head =
    rule.forward !== true
      ? `${op} ${GRANT_CHAIN}`
      : op === '-A'
        ? `-I ${FORWARD_CHAIN} ${forwardAt}`
        : `${op} ${FORWARD_CHAIN}`;
  return rule.text === '' ? head : `${head} ${rule.text}`;
}

function identity(until: number | null, proto: string, port: number, timed: boolean): string {
  return `${until ?? 'never'}|${proto}|${port}|${timed ? 'timed' : 'untimed'}`;
}

/** The rules a grant should have, one per port, and with a forward twin (KNOCKTAIL-FWD exists) one more per port. */
function wantedRules(grant: Grant, forward: boolean): HeldRule[] {
  const rules: HeldRule[] = grant.ports.map((port) => ({
    identity: identity(grant.until, port.proto, port.port, grant.until !== null),
    text: buildGrantRuleText(grant, port),
  }));
  if (forward) {
    for (const port of grant.ports) {
      rules.push({
        identity: `fwd|${identity(grant.until, port.proto, port.port, grant.until !== null)}`,
        text: formatRestoreLine(buildForwardGrantSpec(grant, port)),
        forward: true,
      });
    }
  }
  return rules;
}

interface ChangePlan {
  /** The `*filter … COMMIT` transaction. */
  readonly transaction: string;
  /** The grant's rules once it is applied. */
  readonly next: readonly HeldRule[];
}

/** The transaction that makes `current` exactly `wanted`, or undefined when they already are. */
function planChange(
  current: readonly HeldRule[],
  wanted: readonly HeldRule[],
  forwardAt: number,
): ChangePlan | undefined {
  const { adds, deletes } = difference(current, wanted);
  if (adds.length === 0 && deletes.length === 0) return undefined;
  const lines: string[] = [];
  for (const rule of adds) lines.push(ruleLine('-A', rule, forwardAt));
  for (const rule of deletes) lines.push(ruleLine('-D', rule, forwardAt));
  const next =
    deletes.length === current.length ? adds : [...current.filter((held) => !deletes.includes(held)), ...adds];
  return { transaction: buildFilterTransactionText(lines), next };
}

/**
 * What makes `current` exactly `wanted`: the wanted rules it lacks, and every other rule (one
 * rule per identity survives: a duplicate left by an older version goes too). An open with
 * nothing held and a close skip the comparison.
 */
function difference(
  current: readonly HeldRule[],
  wanted: readonly HeldRule[],
): { adds: readonly HeldRule[]; deletes: readonly HeldRule[] } {
  if (current.length === 0 || wanted.length === 0) return { adds: wanted, deletes: current };
  const adds = wanted.filter((rule) => !current.some((held) => held.identity === rule.identity));
  const kept = new Set<string>();
  const deletes = current.filter((held) => {
    if (!wanted.some((rule) => rule.identity === held.identity) || kept.has(held.identity)) return true;
    kept.add(held.identity);
    return false;
  });
  return { adds, deletes };
}

export type RestoreSessions = Readonly<Record<Family, LineSession>>;

// One ACCEPT rule per grant and port in chain KNOCKTAIL (ip6tables for IPv6 sources), carrying
// its door and expiry in a comment and, when bounded, the expiry for the kernel (xt_time).
// Every change is one `*filter … COMMIT` transaction: a refresh adds the new rule and deletes the
// old ones in the same COMMIT, so the port never closes and no duplicate is ever visible. The
// backend knows what the chain holds from a listing (the first change lists the chain, list()
// re-lists it), so a second offline `grant` replaces the first one's rule instead of adding one.
// With sessions, transactions go to one long-lived `iptables-restore --noflush` per family; a
// failure re-lists the chain and tries again through a new process, then as a one-shot command
// with retries.
export class IptablesBackend implements FirewallBackend {
  readonly name = 'iptables';
  private readonly exec: CommandExecutor;
  private readonly guard: GuardOptions & { readonly refusalSetting?: RefusalSetting };
  private readonly now: () => number;
  private readonly sessions: RestoreSessions | undefined;
  /** Per family, the grant rules the chain holds by grant key; absent until listed. */
  private readonly held = new Map<Family, Map<string, readonly HeldRule[]>>();
  /** The forward twin (KNOCKTAIL-FWD) when the DNAT probe is on; undefined leaves the forward path alone. */
  private readonly twin: ForwardTwin | undefined;
  /** Per family, whether KNOCKTAIL-FWD exists (from the last listing): grants then get forward twins. */
  private readonly forwardActive = new Map<Family, boolean>();

  /** `forward`: probe DNAT at setup and guard published protected ports on the forward path too. */
  constructor(
    exec: CommandExecutor,
    guard: GuardOptions & { readonly refusalSetting?: RefusalSetting },
    now: () => number,
    sessions?: RestoreSessions,
    forward = false,
  ) {
    this.exec = exec;
    this.guard = guard;
    this.now = now;
    this.sessions = sessions;
    this.twin = forward ? new ForwardTwin(exec, guard) : undefined;
  }

  async open(grant: Grant): Promise<void> {
    if (grant.until !== null && grant.until <= this.now()) return this.close(grant);
    // Whether grants get forward twins is known from the listing, so list first (a bad grant never gets that far).
    if (this.twin && !this.held.has(grant.family)) {
      checkGrant(grant);
      await this.rulesOf(grant.family);
    }
    await this.change(grant, wantedRules(grant, this.forwardActive.get(grant.family) === true));
  }

  async close(grant: Grant): Promise<void> {
    await this.change(grant, []);
  }

  async list(): Promise<Grant[]> {
    const grants: Grant[] = [];
    for (const family of FAMILIES) {
      const text = await this.listing(family);
      const listed = parseGrantListing(text, family, this.now());
      grants.push(
        ...(this.forwardActive.get(family) === true ? listed.filter((grant) => this.hasTwins(grant)) : listed),
      );
    }
    return grants;
  }

  async setup(doors: readonly Door[], host?: GuardHost, options: SetupOptions = {}): Promise<void> {
    // The first phase of arming (armed: false) refuses nothing: the forward twin waits for the second.
    const plan = options.armed === false ? undefined : await this.twin?.prepare(doors);
    const guard = { ...this.guardFor(doors, host), ...options };
    for (const family of FAMILIES) await installGuard(this.exec, doors, family, guard);
    if (!this.twin || !plan) return;
    await this.twin.install(plan, doors, guard, (family) => this.forwardGrantSpecs(family));
    this.held.clear();
  }

  async checkForward(doors: readonly Door[]): Promise<ForwardPlan | undefined> {
    if (!this.twin) return undefined;
    if ((await this.twin.check(doors, (family) => this.forwardGrantSpecs(family))).length > 0) this.held.clear();
    return this.twin.current();
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
    this.held.clear();
  }

  // The forward twins of every grant rule KNOCKTAIL holds (setup rebuilds KNOCKTAIL-FWD whole).
  private async forwardGrantSpecs(family: Family): Promise<string[][]> {
    const result = await this.exec.run(buildGrantListArgs(family), { accept: [0, 1] });
    const rules = parseGrantRules(result.exitCode === 0 ? result.stdout : '', family);
    return rules.map((rule) =>
      buildForwardGrantSpec({ door: rule.door, src: rule.src, family, until: rule.until }, rule.port),
    );
  }

  stop(): Promise<void> {
    for (const family of FAMILIES) this.sessions?.[family].stop();
    return Promise.resolve();
  }

  describeSetup(doors: readonly Door[], host?: GuardHost): string[][] {
    const guard = this.guardFor(doors, host);
    return FAMILIES.flatMap((family) => [
      ...buildGuardSetupArgs(doors, family, guard),
      ...(this.twin?.describe(doors, family, guard, []) ?? []),
    ]);
  }

  private guardFor(doors: readonly Door[], host?: GuardHost): GuardOptions {
    return { ...this.guard, ...planGuardFields(doors, this.guard.logPrefix, this.guard.refusalSetting, host) };
  }

  /** The commands teardown() runs when everything is in place. */
  describeTeardown(): string[][] {
    return FAMILIES.flatMap((family) => buildGuardTeardownArgs(family));
  }

  // Makes the grant's rules exactly `wanted` in one transaction: adds what is missing, deletes
  // every other rule of the same door and source (older expiries, duplicates, dropped ports).
  // The planning is synchronous (planChange): the async part keeps only what crosses an await.
  private async change(grant: Grant, wanted: readonly HeldRule[]): Promise<void> {
    checkGrant(grant);
    const key = grantKey(grant);
    for (let attempt = 0; ; attempt++) {
      const rules = this.held.get(grant.family) ?? (await this.rulesOf(grant.family));
      const plan = planChange(rules.get(key) ?? NO_RULES, wanted, forwardGrantPosition(this.guard, grant.family));
      if (!plan) return;
      if (attempt < 2) {
        if ((await this.attempt(grant.family, plan.transaction)).exitCode !== 0) {
          // The chain is not what we thought (an admin's edit, a concurrent command): list it again.
          this.held.delete(grant.family);
          continue;
        }
      } else {
        await this.exec.run(restoreBinary(grant.family), { input: plan.transaction });
      }
      if (plan.next.length === 0) rules.delete(key);
      else rules.set(key, plan.next);
      return;
    }
  }

  // One try, through the family's session when there is one; a failure is returned, not thrown.
  private attempt(family: Family, transaction: string): Promise<CommandResult> {
    const session = this.sessions?.[family];
    if (session) return session.run([transaction]);
    return this.exec.run(restoreBinary(family), { input: transaction, accept: [0, 1, 2, 4] });
  }

  // Drift repair of the forward twin: a grant whose twin is gone is listed as absent, so reconcile
  // re-adds it, and that open (planChange) puts back exactly the missing twin.
  private hasTwins(grant: Grant): boolean {
    const rules = this.held.get(grant.family)?.get(grantKey(grant)) ?? NO_RULES;
    return grant.ports.every((port) =>
      rules.some((rule) => rule.forward === true && rule.identity.includes(`|${port.proto}|${port.port}|`)),
    );
  }

  private async rulesOf(family: Family): Promise<Map<string, readonly HeldRule[]>> {
    const known = this.held.get(family);
    if (known) return known;
    await this.listing(family);
    return this.held.get(family) ?? new Map<string, readonly HeldRule[]>();
  }

  // Lists the chain (a missing chain holds nothing) and remembers its grant rules; with the
  // forward twin on, KNOCKTAIL-FWD's grant rules too (and whether that chain exists).
  private async listing(family: Family): Promise<string> {
    const result = await this.exec.run(buildGrantListArgs(family), { accept: [0, 1] });
    const text = result.exitCode === 0 ? result.stdout : '';
    const rules = new Map<string, HeldRule[]>();
    const remember = (rule: ListedGrantRule, forward: boolean): void => {
      const list = rules.get(rule.key) ?? [];
      const id = identity(rule.until, rule.port.proto, rule.port.port, rule.timed);
      list.push(forward ? { identity: `fwd|${id}`, spec: rule.spec, forward } : { identity: id, spec: rule.spec });
      rules.set(rule.key, list);
    };
    for (const rule of parseGrantRules(text, family)) remember(rule, false);
    if (this.twin) {
      const twins = await this.exec.run([...tablesBinary(family), '-S', FORWARD_CHAIN], { accept: [0, 1] });
      const active = twins.exitCode === 0 && twins.stdout.includes(`-N ${FORWARD_CHAIN}`);
      this.forwardActive.set(family, active);
      if (active) for (const rule of parseGrantRules(twins.stdout, family)) remember(rule, true);
    }
    this.held.set(family, rules);
    return text;
  }
}
