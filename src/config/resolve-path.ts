import { isAbsolute, join } from 'node:path';

// Relative paths in a config file mean "next to the config file", not "wherever the
// daemon was started"; without a base directory they stay as written.
export function resolvePath(baseDir: string | undefined, path: string): string {
  return baseDir === undefined || isAbsolute(path) ? path : join(baseDir, path);
}
