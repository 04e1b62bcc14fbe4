import type { Grant } from '../model/grant.js';
import type { Door } from '../model/door.js';
import type { CommandResult, FirewallBackend, SetupOptions } from './backend.js';
import type { CommandExecutor } from './command-executor.js';
import {
  buildNftCloseStatements,
  buildNftOpenStatements,
  buildNftSetupStatements,
  buildNftTeardownStatements,
  NFT_BATCH_ARGV,
  statementsAsArgv,
} from './nft-args.js';
import type { NftGuardOptions } from './nft-args.js';
import { planGuardFields } from './guard-plan.js';
import type { GuardHost, RefusalSetting } from './refusal.js';
import { doorSetNames, parseNftListing } from './nft-listing.js';
import { buildNftForwardStatements, NFT_LIST_CHAINS_ARGV, NFT_LIST_GUARD_ARGV } from './nft-args.js';
import { collectDoorPorts } from './door-ports.js';
import { forwardPorts, NO_FORWARD } from './forward-plan.js';
import type { ForwardPlan, ForwardPort } from './forward-plan.js';
import { probeForward, unguardedError } from './forward-probe.js';

// Set definitions without elements: a few ms, where listing the table (or even one chain) makes nft
// fetch every element of every set, the LOG limiter's too (50,000 sources: ~300 ms of nft, 3.6 MB).
const NFT_LIST_SETS_ARGV: readonly string[] = ['nft', '-j', '-t', 'list', 'sets', 'inet'];
const NFT_LIST_SET_ARGV: readonly string[] = ['nft', '-j', 'list', 'set', 'inet', 'knocktail'];
import type { LineSession } from './line-session.js';

// Everything in nft table `inet knocktail`, nothing in iptables; grants are set elements
// with timeouts, each change one atomic batch. (inputPosition does not apply: the guard is
// its own base chain on the input hook.)
export class NftablesBackend implements FirewallBackend {
  readonly name = 'nftables';
  private readonly exec: CommandExecutor;
  private readonly guard: NftGuardOptions & { readonly refusalSetting?: RefusalSetting };
  private readonly now: () => number;
  private readonly session: LineSession | undefined;
  /** Size of each door's grant set (limits.maxGrants); undefined = the tool's default. */
  private readonly setSize: number | undefined;
  private doors = new Map<string, Door>();
  /** Whether setup probes DNAT and guards published protected ports in chain `forward`. */
  private readonly forward: boolean;
  /** The last DNAT probe's plan. */
  private plan: ForwardPlan = NO_FORWARD;
  /** The guard options of the last setup (its resolved refusal), for the periodic check's repair. */
  private lastGuard: NftGuardOptions | undefined;

  /** With a session, grant changes go to one long-lived `nft -i`; without, each is its own `nft -f -`. */
  constructor(
    exec: CommandExecutor,
    guard: NftGuardOptions & { readonly refusalSetting?: RefusalSetting },
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
    this.forward = forward;
  }

  async open(grant: Grant): Promise<void> {
    if (grant.until !== null && grant.until <= this.now()) return this.close(grant);
    const statements = buildNftOpenStatements(grant, this.now());
    // A failed first try is repeated through `nft -f -`, with retries and nft's exact complaint.
    if ((await this.attempt(statements)).exitCode !== 0) await this.batch(statements);
  }

  async close(grant: Grant): Promise<void> {
    const statements = buildNftCloseStatements(grant);
    const result = await this.attempt(statements);
    // No table or set means nothing to close; any other failure gets the full retry treatment.
    if (result.exitCode !== 0 && !/No such file or directory/.test(result.stderr)) await this.batch(statements);
  }

  stop(): Promise<void> {
    this.session?.stop();
    return Promise.resolve();
  }

  // The set names, then each door set's elements: never the LOG limiter sets, which a flood fills
  // with one element per source. Ports come from the doors of the last setup (an orphaned set's grants have none).
  async list(): Promise<Grant[]> {
    const result = await this.exec.run(NFT_LIST_SETS_ARGV, { accept: [0, 1] });
    if (result.exitCode !== 0) return [];
    const sets = await Promise.all(
      doorSetNames(result.stdout).map((name) => this.exec.run([...NFT_LIST_SET_ARGV, name], { accept: [0, 1] })),
    );
    const listings = sets.filter((set) => set.exitCode === 0).map((set) => set.stdout);
    return parseNftListing(listings, this.now(), (door) => this.doors.get(door)?.open ?? []);
  }

  async setup(doors: readonly Door[], host?: GuardHost, options: SetupOptions = {}): Promise<void> {
    this.doors = new Map(doors.map((door) => [door.name, door]));
    const guard = { ...this.guardFor(doors, host), ...options };
    const statements = buildNftSetupStatements(doors, guard, this.setSize);
    // The first phase of arming (armed: false) refuses nothing: the forward twin waits for the second.
    if (this.forward && options.armed !== false) {
      this.lastGuard = guard;
      const plan = await probeForward(this.exec, collectDoorPorts(doors).protectedPorts);
      const error = unguardedError(plan);
      if (error) throw error;
      statements.push(...buildNftForwardStatements(doors, await this.forwardPortsFor(plan, doors), guard));
      this.plan = plan;
    }
    await this.batch(statements);
  }

  // The periodic check: the chain gone (a flushed ruleset) or a first published port is repaired in one batch.
  async checkForward(doors: readonly Door[]): Promise<ForwardPlan | undefined> {
    if (!this.forward) return undefined;
    const plan = await probeForward(this.exec, collectDoorPorts(doors).protectedPorts);
    const present = await this.forwardChainPresent();
    const ports = plan.guards.length > 0 || present ? forwardPorts(collectDoorPorts(doors).protectedPorts) : [];
    if (present !== ports.length > 0) {
      // The table itself may be gone too: the whole setup batch recreates it without touching live set elements.
      const guard = this.lastGuard ?? this.guardFor(doors);
      await this.batch([
        ...buildNftSetupStatements(doors, guard, this.setSize),
        ...buildNftForwardStatements(doors, ports, guard),
      ]);
    }
    this.plan = plan;
    return plan;
  }

  // Once a protected port is published the chain stays (until teardown) and refuses every protected port:
  // Docker's DNAT is briefly gone while dockerd restarts, and a port it re-publishes must not wait for the next check.
  private async forwardPortsFor(plan: ForwardPlan, doors: readonly Door[]): Promise<ForwardPort[]> {
    if (plan.guards.length === 0 && !(await this.forwardChainPresent())) return [];
    return forwardPorts(collectDoorPorts(doors).protectedPorts);
  }

  private async forwardChainPresent(): Promise<boolean> {
    const chains = await this.exec.run(NFT_LIST_CHAINS_ARGV, { accept: [0, 1] });
    return /"table":\s*"knocktail",\s*"name":\s*"forward"/.test(chains.stdout);
  }

  // Armed: the guard chain refuses more than the canary (its one `iifname "lo"` rule).
  async isArmed(): Promise<boolean> {
    const guard = await this.exec.run(NFT_LIST_GUARD_ARGV, { accept: [0, 1] });
    return guard.stdout.split('\n').some((line) => /\b(reject|drop)\b/.test(line) && !line.includes('iifname "lo"'));
  }

  async teardown(): Promise<void> {
    await this.batch(buildNftTeardownStatements());
  }

  describeSetup(doors: readonly Door[], host?: GuardHost): string[][] {
    const guard = this.guardFor(doors, host);
    const forward =
      this.plan.guards.length > 0
        ? buildNftForwardStatements(doors, forwardPorts(collectDoorPorts(doors).protectedPorts), guard)
        : [];
    return statementsAsArgv([...buildNftSetupStatements(doors, guard, this.setSize), ...forward]);
  }

  private guardFor(doors: readonly Door[], host?: GuardHost): NftGuardOptions {
    return { ...this.guard, ...planGuardFields(doors, this.guard.logPrefix, this.guard.refusalSetting, host) };
  }

  describeTeardown(): string[][] {
    return statementsAsArgv(buildNftTeardownStatements());
  }

  // One try, through the session when there is one; a non-zero exit is returned, not thrown.
  private async attempt(statements: readonly string[]): Promise<CommandResult> {
    if (this.session) return this.session.run(statements);
    return this.exec.run(NFT_BATCH_ARGV, { input: `${statements.join('\n')}\n`, accept: [0, 1] });
  }

  private async batch(statements: readonly string[]): Promise<void> {
    await this.exec.run(NFT_BATCH_ARGV, { input: `${statements.join('\n')}\n` });
  }
}
