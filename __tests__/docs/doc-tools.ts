import { test } from '@jest/globals';
import { hasCommand, systemTestsRequired } from '../system/support/requirements.js';

// Render checks need mandoc, groff and zsh: installed by .ci/run, so CI (CI=true) or
// KNOCKTAIL_SYSTEM_TESTS=required fails without them; elsewhere the check is skipped with a note.
/** test() when `tool` is on PATH (or CI requires it); test.skip with a note otherwise. */
export function testWith(tool: string, name: string, body: () => void | Promise<void>, timeoutMs?: number): void {
  if (hasCommand(tool) || systemTestsRequired) test(name, body, timeoutMs);
  else {
    process.stderr.write(`skipping "${name}": ${tool} is not installed\n`);
    test.skip(name, body);
  }
}
