import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// System tests run the CLI as users do: the build of `npm run build` (npm test builds first).
const here = dirname(fileURLToPath(import.meta.url));
// From __tests__/system/support under ts-jest, or dist/__tests__/system/support when the bench imports it.
export const repoRoot = [resolve(here, '..', '..', '..'), resolve(here, '..', '..', '..', '..')].find((dir) =>
  existsSync(join(dir, 'package.json')),
)!;
export const cliPath = join(repoRoot, 'dist', 'src', 'cli', 'main.js');

/** The built CLI's path; a clear error when it has not been built. */
export function builtCli(): string {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run \`npm run build\` first (npm test does)`);
  return cliPath;
}
