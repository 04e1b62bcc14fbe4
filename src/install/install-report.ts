import type { AppliedEntry, EntryOutcome } from './apply-install-plan.js';
import { knockCommand, type InstallPlan } from './install-plan.js';

// The lines `knocktail install` prints: one per entry, the setup step, then the next steps.
const PAST: Record<EntryOutcome, string> = {
  created: 'created',
  updated: 'updated',
  unchanged: 'unchanged',
  kept: 'kept',
};
const FUTURE: Record<EntryOutcome, string> = {
  created: 'would create',
  updated: 'would update',
  unchanged: 'unchanged',
  kept: 'kept',
};

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

export function formatInstallReport(
  plan: InstallPlan,
  applied: readonly AppliedEntry[],
  options: { dryRun: boolean; setupDone: boolean; setupFailed?: boolean },
): string[] {
  const words = options.dryRun ? FUTURE : PAST;
  const width = Math.max(...Object.values(words).map((word) => word.length));
  const lines = applied.map(({ entry, outcome }) => {
    const note = outcome === 'kept' ? ' (exists; left as it is)' : '';
    return `${words[outcome].padEnd(width)}  ${entry.path}  ${octal(entry.mode)}  ${entry.purpose}${note}`;
  });
  const changes = applied.filter(({ outcome }) => outcome === 'created' || outcome === 'updated').length;
  if (changes === 0)
    lines.push(
      options.dryRun
        ? 'Nothing to change: everything is installed already.'
        : 'Nothing changed: everything was installed already.',
    );
  else
    lines.push(
      `${changes} ${changes === 1 ? 'change' : 'changes'}${options.dryRun ? ' planned (dry run: nothing written)' : ' made'}.`,
    );
  if (plan.setup.kind === 'skip') lines.push(`firewall setup skipped: ${plan.setup.reason}`);
  else if (options.setupFailed) lines.push('firewall setup failed; the error follows');
  else
    lines.push(
      options.setupDone
        ? "firewall setup done: knocktail's chains, LOG and guard rules are in place"
        : 'firewall setup: would run `knocktail setup`',
    );
  const knock = plan.knock;
  if (knock) {
    const sequence = knock.sequence.length > 0 ? knock.sequence.join(' ') : '(no fixed sequence)';
    const close = knock.close.length > 0 ? `; close: ${knock.close.join(' ')}` : '';
    lines.push(
      '',
      `Door "${knock.door}": knock ${sequence} → ${knock.effect}${close}`,
      `Client command: ${knockCommand(knock)}`,
    );
  }
  if (plan.nextSteps.length > 0) lines.push('', 'Next steps:', ...plan.nextSteps.map((step) => `  ${step}`));
  return lines;
}
