import type { Family } from '../address.js';
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
import { installGuard, removeGuard, repairJump } from './guard-installer.js';
import { buildGrantListArgs, buildGrantRuleText, GRANT_CHAIN, restoreBinary } from './iptables-args.js';
import { parseGrantListing, parseGrantRules } from './iptables-listing.js';
import type { LineSession } from './line-session.js';
import { buildFilterTransactionText, formatRestoreLine } from './restore-text.js';

const FAMILIES: readonly Family[] = [4, 6];

/** A grant rule the chain holds: what identifies it, and the words that delete exactly it. */
interface HeldRule {
  readonly identity: string;
  /** The words after the chain name, for a listed rule (its delete must repeat them). */
  readonly spec?: readonly string[];
  /** The rule as restore-line text (formatRestoreLine of `spec`): built directly for a wanted rule, kept once made for a listed one. */
  text?: string;
}

const NO_RULES: readonly HeldRule[] = [];

/** The rule's restore line for `op` (`-A`, `-D`) in the grant chain. */
function ruleLine(op: string, rule: HeldRule): string {
  rule.text ??= formatRestoreLine(rule.spec ?? []);
  return rule.text === '' ? `${op} ${GRANT_CHAIN}` : `${op} ${GRANT_CHAIN} ${rule.text}`;
}

function identity(until: number | null, proto: string, port: number, timed: boolean): string {
  return `${until ?? 'never'}|${proto}|${port}|${timed ? 'timed' : 'untimed'}`;
}

/** The rules a grant should have, one per port. */
function wantedRules(grant: Grant): HeldRule[] {
  return grant.ports.map((port) => ({ identity: identity(grant.until, port.proto, port.port, grant.until !== null), text: buildGrantRuleText(grant, port) }));
}

interface ChangePlan {
  /** The `*filter … COMMIT` transaction. */
  readonly transaction: string;
  /** The grant's rules once it is applied. */
  readonly next: readonly HeldRule[];
}

/** The transaction that makes `current` exactly `wanted`, or undefined when they already are. */
function planChange(current: readonly HeldRule[], wanted: readonly HeldRule[]): ChangePlan | undefined {
  const { adds, deletes } = difference(current, wanted);
  if (adds.length === 0 && deletes.length === 0) return undefined;
  const lines: string[] = [];
  for (const rule of adds) lines.push(ruleLine('-A', rule));
  for (const rule of deletes) lines.push(ruleLine('-D', rule));
  const next = deletes.length === current.length ? adds : [...current.filter((held) => !deletes.includes(held)), ...adds];
  return { transaction: buildFilterTransactionText(lines), next };
}

/**
 * What makes `current` exactly `wanted`: the wanted rules it lacks, and every other rule (one
 * rule per identity survives: a duplicate left by an older version goes too). An open with
 * nothing held and a close skip the comparison.
 */
function difference(current: readonly HeldRule[], wanted: readonly HeldRule[]): { adds: readonly HeldRule[]; deletes: readonly HeldRule[] } {
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

  constructor(exec: CommandExecutor, guard: GuardOptions & { readonly refusalSetting?: RefusalSetting }, now: () => number, sessions?: RestoreSessions) {
    this.exec = exec;
    this.guard = guard;
    this.now = now;
    this.sessions = sessions;
  }

  async open(grant: Grant): Promise<void> {
    if (grant.until !== null && grant.until <= this.now()) return this.close(grant);
    await this.change(grant, wantedRules(grant));
  }

  async close(grant: Grant): Promise<void> {
    await this.change(grant, []);
  }

  async list(): Promise<Grant[]> {
    const grants: Grant[] = [];
    for (const family of FAMILIES) {
      const text = await this.listing(family);
      grants.push(...parseGrantListing(text, family, this.now()));
    }
    return grants;
  }

  async setup(doors: readonly Door[], host?: GuardHost, options: SetupOptions = {}): Promise<void> {
    const guard = { ...this.guardFor(doors, host), ...options };
    for (const family of FAMILIES) await installGuard(this.exec, doors, family, guard);
  }

  async checkGuard(): Promise<boolean> {
    let changed = false;
    for (const family of FAMILIES) changed = (await repairJump(this.exec, family, this.guard)) || changed;
    return changed;
  }

  async teardown(): Promise<void> {
    for (const family of FAMILIES) await removeGuard(this.exec, family);
    this.held.clear();
  }

  stop(): Promise<void> {
    for (const family of FAMILIES) this.sessions?.[family].stop();
    return Promise.resolve();
  }

  describeSetup(doors: readonly Door[], host?: GuardHost): string[][] {
    const guard = this.guardFor(doors, host);
    return FAMILIES.flatMap((family) => buildGuardSetupArgs(doors, family, guard));
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
      const plan = planChange(rules.get(key) ?? NO_RULES, wanted);
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

  private async rulesOf(family: Family): Promise<Map<string, readonly HeldRule[]>> {
    const known = this.held.get(family);
    if (known) return known;
    await this.listing(family);
    return this.held.get(family) ?? new Map<string, readonly HeldRule[]>();
  }

  // Lists the chain (a missing chain holds nothing) and remembers its grant rules.
  private async listing(family: Family): Promise<string> {
    const result = await this.exec.run(buildGrantListArgs(family), { accept: [0, 1] });
    const text = result.exitCode === 0 ? result.stdout : '';
    const rules = new Map<string, HeldRule[]>();
    for (const rule of parseGrantRules(text, family)) {
      const list = rules.get(rule.key) ?? [];
      list.push({ identity: identity(rule.until, rule.port.proto, rule.port.port, rule.timed), spec: rule.spec });
      rules.set(rule.key, list);
    }
    this.held.set(family, rules);
    return text;
  }
}
