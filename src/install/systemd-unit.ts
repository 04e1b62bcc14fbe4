import { KnocktailError } from '../errors.js';

// The shipped unit (systemd/knocktail.service) lets the daemon write only below the
// default state and log directories; install adds the configured ones when they differ.
const WRITABLE = /^ReadWritePaths=(.*)$/m;

/** The unit with `writablePaths` added to ReadWritePaths (no duplicates, order kept). */
export function renderSystemdUnit(template: string, writablePaths: readonly string[]): string {
  const match = WRITABLE.exec(template);
  if (!match) throw new KnocktailError('NOT_FOUND', 'Expected the shipped systemd unit to have a ReadWritePaths= line; the package is damaged');
  const present = match[1]!.split(/\s+/).filter((path) => path !== '');
  const known = new Set(present.map((path) => path.replace(/^-/, '')));
  // systemd splits on whitespace; a quoted path keeps its spaces.
  const unique = [...new Set(writablePaths.filter((path) => !known.has(path)))].map((path) => (/\s/.test(path) ? `"${path}"` : path));
  return template.replace(WRITABLE, () => `ReadWritePaths=${[...present, ...unique].join(' ')}`);
}
