import { KnocktailError } from '../errors.js';

// The shipped unit (systemd/knocktail.service) lets the daemon write only below the
// default state and log directories; install adds the configured ones when they differ.
const WRITABLE = /^ReadWritePaths=(.*)$/m;
// The shipped unit runs the .deb's /usr/bin/knocktail; `knocktail install` names the real
// node and CLI instead, so an npm link or another prefix cannot point the unit elsewhere.
const SHIPPED_COMMAND = '/usr/bin/knocktail';
// ProtectHome=yes (and tmpfs) hide these from the service; read-only would leave them readable.
const HIDDEN_BY_PROTECT_HOME = ['/root', '/home', '/run/user'];

/** The programs the unit runs: node and the CLI's entry script, both as real paths (no symlinks). */
export interface UnitProgram {
  readonly node: string;
  readonly cli: string;
}

function unitWord(path: string): string {
  if (/["\\\u0000-\u001f\u007f]/.test(path)) throw new KnocktailError('USAGE', `Expected a path systemd can name in the unit, got ${JSON.stringify(path)}`);
  // systemd splits on whitespace; a quoted path keeps its spaces. `%` starts a specifier.
  const escaped = path.replace(/%/g, '%%');
  return /\s/.test(escaped) ? `"${escaped}"` : escaped;
}

function isBelow(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

/** Throws, saying what to do, when the unit's ProtectHome= hides one of the programs it runs. */
export function checkProgramVisible(template: string, program: UnitProgram): void {
  const protect = /^ProtectHome=(\S+)\s*$/m.exec(template)?.[1];
  if (protect !== 'yes' && protect !== 'true' && protect !== 'tmpfs') return;
  for (const [what, path] of [
    ['node', program.node],
    ['the knocktail CLI', program.cli],
  ] as const) {
    const dir = HIDDEN_BY_PROTECT_HOME.find((hidden) => isBelow(path, hidden));
    if (dir === undefined) continue;
    throw new KnocktailError('USAGE', `Expected ${what} outside ${HIDDEN_BY_PROTECT_HOME.join(', ')}, got ${path}: the unit has ProtectHome=${protect}, so the service could not read it`, {
      details: [
        what === 'node'
          ? 'install node system-wide (Debian: apt-get install nodejs, version 20 or later), then run `knocktail install` again'
          : 'install the .deb (apt install ./knocktail_VERSION_all.deb), or copy the package out of your home: `npm pack` in the clone, then `npm install -g ./knocktail-VERSION.tgz` (npm install -g . only links to the clone)',
        'or keep it there and relax the sandbox in a drop-in (`systemctl edit knocktail`: [Service] ProtectHome=read-only)',
      ],
    });
  }
}

/**
 * The unit with `writablePaths` added to ReadWritePaths (no duplicates, order kept) and, when
 * `program` is given, every `/usr/bin/knocktail` replaced by `node cli` (after checkProgramVisible).
 */
export function renderSystemdUnit(template: string, writablePaths: readonly string[], program?: UnitProgram): string {
  const match = WRITABLE.exec(template);
  if (!match) throw new KnocktailError('NOT_FOUND', 'Expected the shipped systemd unit to have a ReadWritePaths= line; the package is damaged');
  const present = match[1]!.split(/\s+/).filter((path) => path !== '');
  const known = new Set(present.map((path) => path.replace(/^-/, '')));
  const unique = [...new Set(writablePaths.filter((path) => !known.has(path)))].map(unitWord);
  const rendered = template.replace(WRITABLE, () => `ReadWritePaths=${[...present, ...unique].join(' ')}`);
  if (program === undefined) return rendered;
  checkProgramVisible(template, program);
  if (!/^ExecStart=\/usr\/bin\/knocktail /m.test(template)) {
    throw new KnocktailError('NOT_FOUND', `Expected the shipped systemd unit to run ${SHIPPED_COMMAND}; the package is damaged`);
  }
  const command = `${unitWord(program.node)} ${unitWord(program.cli)}`;
  return rendered.replace(/^(Exec\w+=[+!@:-]*)\/usr\/bin\/knocktail(?= |$)/gm, (_whole, head: string) => `${head}${command}`);
}
