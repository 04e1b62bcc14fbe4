import type { Family } from '../address.js';
import type { Door } from '../model/door.js';
import type { CommandExecutor } from './command-executor.js';
import { buildGuardRuleSpecs, buildJumpSpec } from './guard-args.js';
import type { GuardOptions } from './guard-args.js';
import { GRANT_CHAIN, GUARD_CHAIN, tablesBinary } from './iptables-args.js';

// Applies and removes the iptables guard idempotently. A chain's rules are replaced by
// appending the new ones and then deleting the old ones from the top, so at no moment is
// a protected port left without its DROP (a flush-and-refill would open it briefly).

async function ensureChain(exec: CommandExecutor, family: Family, chain: string): Promise<void> {
  const bin = tablesBinary(family);
  if (!(await exec.ask([...bin, '-S', chain]))) await exec.run([...bin, '-N', chain]);
}

async function countRules(exec: CommandExecutor, family: Family, chain: string): Promise<number> {
  const listing = await exec.run([...tablesBinary(family), '-S', chain]);
  return listing.stdout.split('\n').filter((line) => line.startsWith('-A ')).length;
}

async function replaceChainRules(exec: CommandExecutor, family: Family, chain: string, specs: readonly string[][]): Promise<void> {
  const bin = tablesBinary(family);
  const old = await countRules(exec, family, chain);
  for (const spec of specs) await exec.run([...bin, '-A', chain, ...spec]);
  for (let i = 0; i < old; i++) await exec.run([...bin, '-D', chain, '1']);
}

/**
 * Creates KNOCKTAIL and KNOCKTAIL-GUARD for one family and jumps to the guard from INPUT.
 * `grantChainSpecs` replaces KNOCKTAIL's rules (ipset's match-set rules); undefined leaves
 * KNOCKTAIL alone, because in the iptables backend it holds the live grants.
 */
export async function installGuard(
  exec: CommandExecutor,
  doors: readonly Door[],
  family: Family,
  options: GuardOptions,
  grantChainSpecs?: readonly string[][],
): Promise<void> {
  const bin = tablesBinary(family);
  await ensureChain(exec, family, GRANT_CHAIN);
  if (grantChainSpecs) await replaceChainRules(exec, family, GRANT_CHAIN, grantChainSpecs);
  await ensureChain(exec, family, GUARD_CHAIN);
  await replaceChainRules(exec, family, GUARD_CHAIN, buildGuardRuleSpecs(doors, family, options));
  if (!(await exec.ask([...bin, '-C', 'INPUT', ...buildJumpSpec()]))) {
    // Inserting past the end of INPUT is an error; a short INPUT gets the jump last.
    const position = Math.min(options.inputPosition, (await countRules(exec, family, 'INPUT')) + 1);
    await exec.run([...bin, '-I', 'INPUT', String(position), ...buildJumpSpec()]);
  }
}

/** Removes the jump(s) and both chains for one family; absent pieces are skipped. */
export async function removeGuard(exec: CommandExecutor, family: Family): Promise<void> {
  const bin = tablesBinary(family);
  // Without the guard chain there can be no jump to it (and `-C` would fail with exit 2).
  const guarded = await exec.ask([...bin, '-S', GUARD_CHAIN]);
  // Bounded: an admin may have duplicated the jump, but not without limit.
  for (let i = 0; i < 16 && guarded && (await exec.ask([...bin, '-C', 'INPUT', ...buildJumpSpec()])); i++) {
    await exec.run([...bin, '-D', 'INPUT', ...buildJumpSpec()]);
  }
  for (const chain of [GUARD_CHAIN, GRANT_CHAIN]) {
    if (await exec.ask([...bin, '-S', chain])) {
      await exec.run([...bin, '-F', chain]);
      await exec.run([...bin, '-X', chain]);
    }
  }
}
