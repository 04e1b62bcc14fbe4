import { execFileSync } from 'node:child_process';
import { test } from '@jest/globals';

// Render checks need mandoc, groff and zsh: installed by .ci/run, so CI (CI=true) or
// KNOCKTAIL_SYSTEM_TESTS=required fails without them; elsewhere the check is skipped with a note.
const required = process.env['CI'] === 'true' || process.env['KNOCKTAIL_SYSTEM_TESTS'] === 'required';

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** test() when `tool` is on PATH (or CI requires it); test.skip with a note otherwise. */
export function testWith(tool: string, name: string, body: () => void | Promise<void>, timeoutMs?: number): void {
  if (hasCommand(tool) || required) test(name, body, timeoutMs);
  else {
    process.stderr.write(`skipping "${name}": ${tool} is not installed\n`);
    test.skip(name, body);
  }
}
