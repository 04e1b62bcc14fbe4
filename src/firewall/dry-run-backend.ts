import type { Grant } from '../model/grant.js';
import { grantKey } from '../model/grant.js';
import type { Door } from '../model/door.js';
import type { FirewallBackend } from './backend.js';
import { formatGrantComment } from './grant-comment.js';
import { buildGuardSetupArgs, buildGuardTeardownArgs } from './guard-args.js';
import type { GuardOptions } from './guard-args.js';
import { buildGrantAddArgs, buildGrantDeleteArgs } from './iptables-args.js';
import { buildAddMemberArgs, buildCreateSetArgs, buildDelMemberArgs, buildSetMatchSpecs } from './ipset-args.js';
import { buildNftCloseStatements, buildNftOpenStatements, buildNftSetupStatements, buildNftTeardownStatements, statementsAsArgv } from './nft-args.js';

export type DryRunVariant = 'iptables' | 'ipset' | 'nftables';

export interface DryRunOptions extends Partial<GuardOptions> {
  /** Which real backend's commands to record (default iptables). */
  readonly variant?: DryRunVariant;
  readonly logPrefix: string;
  readonly now: () => number;
}

// The config schema's defaults, for callers (replay) that only know the log prefix.
const GUARD_DEFAULTS = { logRateLimit: '20/second', inputPosition: 1 };

// Replay's backend: runs nothing, records the argv the chosen real backend would run to
// change the firewall (built by the same pure builders), and keeps grants in memory.
export class DryRunBackend implements FirewallBackend {
  readonly name = 'dry-run';
  private readonly options: DryRunOptions & GuardOptions;
  private readonly grants = new Map<string, Grant>();
  private readonly recorded: string[][] = [];

  constructor(options: DryRunOptions) {
    this.options = { ...GUARD_DEFAULTS, ...options };
  }

  /** Every argv recorded so far, in order. */
  commands(): string[][] {
    return this.recorded.map((argv) => [...argv]);
  }

  async open(grant: Grant): Promise<void> {
    const key = grantKey(grant);
    const previous = this.grants.get(key);
    this.grants.set(key, grant);
    const variant = this.options.variant ?? 'iptables';
    if (variant === 'ipset') this.recorded.push(buildAddMemberArgs(grant, this.options.now()));
    else if (variant === 'nftables') this.recorded.push(...statementsAsArgv(buildNftOpenStatements(grant, this.options.now())));
    else {
      const same = previous !== undefined && formatGrantComment(previous.door, previous.until) === formatGrantComment(grant.door, grant.until);
      // The real backend checks with -C first; only rules it would add or delete are recorded.
      for (const port of grant.ports) {
        if (!(same && previous.ports.some((p) => p.proto === port.proto && p.port === port.port))) this.recorded.push(buildGrantAddArgs(grant, port));
      }
      for (const port of previous?.ports ?? []) {
        if (!(same && grant.ports.some((p) => p.proto === port.proto && p.port === port.port))) this.recorded.push(buildGrantDeleteArgs(previous!, port));
      }
    }
  }

  async close(grant: Grant): Promise<void> {
    const key = grantKey(grant);
    const held = this.grants.get(key);
    if (!held) return;
    this.grants.delete(key);
    const variant = this.options.variant ?? 'iptables';
    if (variant === 'ipset') this.recorded.push(buildDelMemberArgs(held));
    else if (variant === 'nftables') this.recorded.push(...statementsAsArgv(buildNftCloseStatements(held)));
    else for (const port of held.ports) this.recorded.push(buildGrantDeleteArgs(held, port));
  }

  async list(): Promise<Grant[]> {
    return [...this.grants.values()];
  }

  async setup(doors: readonly Door[]): Promise<void> {
    this.recorded.push(...this.describeSetup(doors));
  }

  async teardown(): Promise<void> {
    const variant = this.options.variant ?? 'iptables';
    if (variant === 'nftables') this.recorded.push(...statementsAsArgv(buildNftTeardownStatements()));
    else for (const family of [4, 6] as const) this.recorded.push(...buildGuardTeardownArgs(family));
    this.grants.clear();
  }

  describeSetup(doors: readonly Door[]): string[][] {
    const variant = this.options.variant ?? 'iptables';
    if (variant === 'nftables') return statementsAsArgv(buildNftSetupStatements(doors, this.options));
    return ([4, 6] as const).flatMap((family) =>
      variant === 'ipset'
        ? [...doors.map((door) => buildCreateSetArgs(door.name, family)), ...buildGuardSetupArgs(doors, family, this.options, doors.flatMap((door) => buildSetMatchSpecs(door, family)))]
        : buildGuardSetupArgs(doors, family, this.options),
    );
  }
}
