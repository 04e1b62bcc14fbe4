import type { Family } from '../model/address.js';
import type { Door } from '../model/door.js';
import type { CommandExecutor } from './command-executor.js';
import { buildGuardRestore, buildGuardTeardownRestore, buildJumpRepairRestore, buildJumpSpec } from './guard-args.js';
import type { GuardOptions, GuardState } from './guard-args.js';
import { lastBanRule } from './ban-rules.js';
import { GRANT_CHAIN, GUARD_CHAIN, restoreBinary, tablesBinary } from './iptables-args.js';
import { formatRestoreLine } from './restore-text.js';

// Applies and removes the iptables guard for one family, each as ONE `iptables-restore
// --noflush` transaction built by a pure function from what the table holds: no packet ever
// sees a guard without its DROPs, or INPUT jumping to an empty chain. Callers hold the
// firewall lock (firewall-lock.ts), so the state read here cannot change before the COMMIT;
// without it, a concurrent change makes the transaction fail whole instead of half-apply.

const JUMP_LINE = formatRestoreLine(['-A', 'INPUT', ...buildJumpSpec()]);

/** What the family's filter table holds of knocktail's chains and jumps. */
export async function readGuardState(exec: CommandExecutor, family: Family): Promise<GuardState> {
  const bin = tablesBinary(family);
  const input = await exec.run([...bin, '-S', 'INPUT']);
  const rules = input.stdout.split('\n').filter((line) => line.startsWith('-A INPUT '));
  return {
    grantChain: await exec.ask([...bin, '-S', GRANT_CHAIN]),
    guardChain: await exec.ask([...bin, '-S', GUARD_CHAIN]),
    jumps: rules.filter((line) => line.trim() === JUMP_LINE).length,
    inputRules: rules.length,
    banRule: lastBanRule(rules),
    jumpAt: rules.findIndex((line) => line.trim() === JUMP_LINE) + 1,
  };
}

/** Whether INPUT jumps to KNOCKTAIL-GUARD and the guard refuses more than the canary (an armed guard). */
export async function guardArmed(exec: CommandExecutor, family: Family): Promise<boolean> {
  const state = await readGuardState(exec, family);
  if (state.jumps === 0 || !state.guardChain) return false;
  const guard = await exec.run([...tablesBinary(family), '-S', GUARD_CHAIN], { accept: [0, 1] });
  return guard.stdout.split('\n').some((line) => / -j (REJECT|DROP)\b/.test(line) && !line.includes(' -i lo '));
}

/**
 * Creates or replaces KNOCKTAIL-GUARD (and KNOCKTAIL if missing) for one family and jumps to
 * the guard from INPUT. `grantChainSpecs` replaces KNOCKTAIL's rules (ipset's match-set rules);
 * undefined leaves KNOCKTAIL alone, because in the iptables backend it holds the live grants.
 */
export async function installGuard(
  exec: CommandExecutor,
  doors: readonly Door[],
  family: Family,
  options: GuardOptions,
  grantChainSpecs?: readonly string[][],
): Promise<void> {
  const state = await readGuardState(exec, family);
  await exec.run(restoreBinary(family), { input: buildGuardRestore(doors, family, options, state, grantChainSpecs) });
}

/** Puts the family's jump back where it belongs (missing, or ahead of a ban rule added since setup); nothing when it is. */
export async function repairJump(exec: CommandExecutor, family: Family, options: GuardOptions): Promise<boolean> {
  const transaction = buildJumpRepairRestore(options, await readGuardState(exec, family));
  if (transaction === undefined) return false;
  await exec.run(restoreBinary(family), { input: transaction });
  return true;
}

/** Removes the jump(s) and both chains for one family in one transaction; absent pieces are skipped. */
export async function removeGuard(exec: CommandExecutor, family: Family): Promise<void> {
  const state = await readGuardState(exec, family);
  // Bounded: an admin may have duplicated the jump, but not without limit.
  const bounded = { ...state, jumps: Math.min(state.jumps, 16) };
  if (!state.grantChain && !state.guardChain && state.jumps === 0) return;
  await exec.run(restoreBinary(family), { input: buildGuardTeardownRestore(bounded) });
}
