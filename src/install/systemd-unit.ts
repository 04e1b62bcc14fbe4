import { KnocktailError } from '../model/errors.js';

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
  if (/["\\\u0000-\u001f\u007f]/.test(path))
    throw new KnocktailError('USAGE', `Expected a path systemd can name in the unit, got ${JSON.stringify(path)}`);
  // systemd splits on whitespace; a quoted path keeps its spaces. `%` starts a specifier.
  const escaped = path.replace(/%/g, '%%');
  return /\s/.test(escaped) ? `"${escaped}"` : escaped;
}

function isBelow(path: string, dir: string): boolean {
  return dir === '/' || path === dir || path.startsWith(`${dir}/`);
}

/** A path the service must read (or write), and what it is, for the error. */
export interface SandboxNeed {
  readonly what: string;
  readonly path: string;
  readonly write?: boolean;
  /** What to do about it, shown under the error. */
  readonly fixes: readonly string[];
}

const HIDDEN_BY_PRIVATE_TMP = ['/tmp', '/var/tmp'];
const READ_ONLY_BY_PROTECT_SYSTEM: Readonly<Record<string, readonly string[]>> = {
  yes: ['/usr', '/boot', '/efi'],
  true: ['/usr', '/boot', '/efi'],
  full: ['/usr', '/boot', '/efi', '/etc'],
  strict: ['/'],
};

function setting(unit: string, key: string): string | undefined {
  return new RegExp(`^${key}=(\\S+)\\s*$`, 'm').exec(unit)?.[1];
}

// Why the unit's sandbox keeps the service from a path, or undefined when it does not.
function sandboxHides(unit: string, need: SandboxNeed): string | undefined {
  const privateTmp = setting(unit, 'PrivateTmp');
  if ((privateTmp === 'yes' || privateTmp === 'true') && HIDDEN_BY_PRIVATE_TMP.some((dir) => isBelow(need.path, dir))) {
    return `the unit has PrivateTmp=${privateTmp}, so the service sees its own empty /tmp and /var/tmp, not this path`;
  }
  const home = setting(unit, 'ProtectHome');
  const hiddenHome = home === 'yes' || home === 'true' || home === 'tmpfs';
  if (
    (hiddenHome || (home === 'read-only' && need.write)) &&
    HIDDEN_BY_PROTECT_HOME.some((dir) => isBelow(need.path, dir))
  ) {
    return `the unit has ProtectHome=${home}, so the service could not ${need.write ? 'write' : 'read'} it`;
  }
  const system = setting(unit, 'ProtectSystem');
  const readOnly = system === undefined ? undefined : READ_ONLY_BY_PROTECT_SYSTEM[system];
  if (need.write && readOnly?.some((dir) => isBelow(need.path, dir))) {
    const writable = (WRITABLE.exec(unit)?.[1] ?? '')
      .split(/\s+/)
      .map((path) => path.replace(/^-/, '').replace(/^"(.*)"$/, '$1'));
    if (!writable.some((dir) => dir !== '' && isBelow(need.path, dir)))
      return `the unit has ProtectSystem=${system} and no ReadWritePaths= for it, so the service could not write it`;
  }
  return undefined;
}

/** Throws, saying what to do, when the unit's own sandbox (PrivateTmp=, ProtectHome=, ProtectSystem=) hides a path the service needs. */
export function checkUnitSandbox(unit: string, needs: readonly SandboxNeed[]): void {
  for (const need of needs) {
    const why = sandboxHides(unit, need);
    if (why === undefined) continue;
    throw new KnocktailError(
      'USAGE',
      `Expected ${need.what} where the service can ${need.write ? 'write' : 'read'} it, got ${need.path}: ${why}`,
      {
        details: [
          ...need.fixes,
          'or keep it there and relax the sandbox in a drop-in (`systemctl edit knocktail`), knowing what that gives up',
        ],
      },
    );
  }
}

function programNeeds(program: UnitProgram): SandboxNeed[] {
  return [
    {
      what: 'node',
      path: program.node,
      fixes: [
        'install node system-wide (Debian: apt-get install nodejs, version 20 or later), then run `knocktail install` again',
      ],
    },
    {
      what: 'the knocktail CLI',
      path: program.cli,
      fixes: [
        'install the .deb (apt install ./knocktail_VERSION_all.deb), or copy the package out of your home or /tmp: `npm pack` in the clone, then `npm install -g ./knocktail-VERSION.tgz` (npm install -g . only links to the clone)',
      ],
    },
  ];
}

/**
 * The unit with `writablePaths` added to ReadWritePaths (no duplicates, order kept) and, when
 * `program` is given, every `/usr/bin/knocktail` replaced by `node cli` (once checkUnitSandbox
 * found both visible to the service).
 */
export function renderSystemdUnit(template: string, writablePaths: readonly string[], program?: UnitProgram): string {
  const match = WRITABLE.exec(template);
  if (!match)
    throw new KnocktailError(
      'NOT_FOUND',
      'Expected the shipped systemd unit to have a ReadWritePaths= line; the package is damaged',
    );
  const present = match[1]!.split(/\s+/).filter((path) => path !== '');
  const known = new Set(present.map((path) => path.replace(/^-/, '')));
  const unique = [...new Set(writablePaths.filter((path) => !known.has(path)))].map(unitWord);
  const rendered = template.replace(WRITABLE, () => `ReadWritePaths=${[...present, ...unique].join(' ')}`);
  if (program === undefined) return rendered;
  checkUnitSandbox(rendered, programNeeds(program));
  if (!/^ExecStart=\/usr\/bin\/knocktail /m.test(template)) {
    throw new KnocktailError(
      'NOT_FOUND',
      `Expected the shipped systemd unit to run ${SHIPPED_COMMAND}; the package is damaged`,
    );
  }
  const command = `${unitWord(program.node)} ${unitWord(program.cli)}`;
  return rendered.replace(
    /^(Exec\w+=[+!@:-]*)\/usr\/bin\/knocktail(?= |$)/gm,
    (_whole, head: string) => `${head}${command}`,
  );
}
