import type { Grant } from '../model/grant.js';
import type { Door } from '../model/door.js';
import type { CommandResult, FirewallBackend } from './backend.js';
import type { CommandExecutor } from './command-executor.js';
import {
  buildNftCloseStatements,
  buildNftOpenStatements,
  buildNftSetupStatements,
  buildNftTeardownStatements,
  NFT_BATCH_ARGV,
  NFT_LIST_ARGV,
  statementsAsArgv,
} from './nft-args.js';
import type { NftGuardOptions } from './nft-args.js';
import { parseNftListing } from './nft-listing.js';
import type { LineSession } from './line-session.js';

// Everything in nft table `inet knocktail`, nothing in iptables; grants are set elements
// with timeouts, each change one atomic batch. (inputPosition does not apply: the guard is
// its own base chain on the input hook.)
export class NftablesBackend implements FirewallBackend {
  readonly name = 'nftables';
  private readonly exec: CommandExecutor;
  private readonly guard: NftGuardOptions;
  private readonly now: () => number;
  private readonly session: LineSession | undefined;

  /** With a session, grant changes go to one long-lived `nft -i`; without, each is its own `nft -f -`. */
  constructor(exec: CommandExecutor, guard: NftGuardOptions, now: () => number, session?: LineSession) {
    this.exec = exec;
    this.guard = guard;
    this.now = now;
    this.session = session;
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

  async stop(): Promise<void> {
    this.session?.stop();
  }

  async list(): Promise<Grant[]> {
    const result = await this.exec.run(NFT_LIST_ARGV, { accept: [0, 1] });
    if (result.exitCode !== 0) return [];
    return parseNftListing(result.stdout, this.now());
  }

  async setup(doors: readonly Door[]): Promise<void> {
    await this.batch(buildNftSetupStatements(doors, this.guard));
  }

  async teardown(): Promise<void> {
    await this.batch(buildNftTeardownStatements());
  }

  describeSetup(doors: readonly Door[]): string[][] {
    return statementsAsArgv(buildNftSetupStatements(doors, this.guard));
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
