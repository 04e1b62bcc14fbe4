import { describe, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';

// System tests need root and real tools. Locally a missing requirement skips the suite
// with a note; in CI (CI=true) or with KNOCKTAIL_SYSTEM_TESTS=required it fails the run.
export const systemTestsRequired = process.env['CI'] === 'true' || process.env['KNOCKTAIL_SYSTEM_TESTS'] === 'required';

/** Whether `name` is a command on PATH. */
export function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** What is missing for a system suite that needs these commands ([] when all is there). */
export function missingRequirements(commands: readonly string[]): string[] {
  const missing: string[] = [];
  if (typeof process.getuid === 'function' && process.getuid() !== 0) missing.push('root');
  for (const name of commands) if (!hasCommand(name)) missing.push(name);
  return missing;
}

/** describe() when the requirements are met; otherwise skip locally, fail in CI. */
export function describeSystem(name: string, commands: readonly string[], body: () => void): void {
  const missing = missingRequirements(commands);
  if (missing.length === 0) {
    describe(name, body);
    return;
  }
  if (systemTestsRequired) {
    describe(name, () => {
      test(`requirements are met (missing: ${missing.join(', ')})`, () => {
        throw new Error(`system suite "${name}" needs ${missing.join(', ')}; CI requires system tests`);
      });
    });
    return;
  }
  process.stderr.write(`skipping system suite "${name}": missing ${missing.join(', ')}\n`);
  describe.skip(name, body);
}
