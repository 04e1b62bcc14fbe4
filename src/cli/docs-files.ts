import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Command } from 'commander';
import { readClientSchema } from '../client/client-profiles.js';
import { readSchema } from '../config/schema-path.js';
import { renderBashCompletion } from '../docs/bash-completion.js';
import { renderCliManPage } from '../docs/cli-man-page.js';
import { describeProgram, type ProgramSpec } from '../docs/cli-spec.js';
import { renderSchemaManPage } from '../docs/schema-man-page.js';
import { renderZshCompletion } from '../docs/zsh-completion.js';
import type { CliContext } from './context.js';
import { buildProgram } from './program.js';

// The man pages and completion scripts, generated from the very commander program the CLI
// parses with and from the shipped JSON Schema; `npm run build` writes them under dist/.
const CONFIG_EXAMPLE = `{
  "firewall": { "backend": "iptables" },
  "doors": [
    { "name": "ssh", "sequence": ["tcp:7000", "udp:8000", "tcp:9000"], "timeout": "15s",
      "open": ["tcp:22"], "openFor": "1h", "closeSequence": ["tcp:9001"] }
  ]
}`;

const silentContext: CliContext = {
  argv: [],
  env: {},
  cwd: '/',
  stdout: new PassThrough(),
  stderr: new PassThrough(),
  signals: { onStop: () => undefined, onReload: () => undefined },
};

/** The CLI as the man page and completion describe it (built without running anything). */
export function programSpec(program: Command = buildProgram(silentContext, () => undefined)): ProgramSpec {
  return describeProgram(program);
}

export type ShellName = 'bash' | 'zsh';

export function completionScript(shell: ShellName, spec: ProgramSpec = programSpec()): string {
  return shell === 'bash' ? renderBashCompletion(spec) : renderZshCompletion(spec);
}

export function configManPage(date: string, version: string): string {
  return renderSchemaManPage(readSchema(), {
    name: 'knocktail.json',
    summary: 'knocktail daemon configuration',
    date,
    version,
    intro: [
      'The configuration of knocktail(8): one JSON document, by default /etc/knocktail/config.json (`--config` or KNOCKTAIL_CONFIG elsewhere).',
      'It is validated once, when the daemon starts or reloads (SIGHUP) and by `knocktail check-config`, which prints every problem with its JSON path; a config with any problem is refused as a whole. Keys not listed here are refused too.',
    ],
    example: CONFIG_EXAMPLE,
    files: [
      ['/etc/knocktail/config.json', 'the default location'],
      [
        '/usr/share/knocktail/config.schema.json',
        'the JSON Schema this page is generated from, for "$schema" and editors (installed by the Debian package)',
      ],
    ],
    seeAlso: ['knocktail(8)', 'knocktail-client.json(5)', 'knockd(1)'],
  });
}

const CLIENT_EXAMPLE = `{
  "profiles": {
    "work": { "host": "server.example.org", "steps": ["tcp:7000", "udp:8000", "tcp:9000"],
              "closeSteps": ["tcp:9001"], "verify": 22 },
    "lab":  { "host": "2001:db8::5", "family": 6,
              "timeBased": { "secretFile": "~/.config/knocktail/lab.secret", "period": "30s" } },
    "office": { "host": "server.example.net",
                "spa": { "port": 62201, "keyFile": "office.key", "hmacKeyFile": "office-hmac.key" },
                "access": ["tcp/22"], "fwTimeout": 30 }
  }
}`;

export function clientManPage(date: string, version: string): string {
  return renderSchemaManPage(readClientSchema(), {
    name: 'knocktail-client.json',
    summary: 'knocktail knock client profiles',
    date,
    version,
    intro: [
      "Profiles for `knocktail knock NAME`, like fwknop's ~/.fwknoprc: per server, the host and the knock to send (steps, a time-based door's secret file, or an SPA door's two key files), so that a client never needs the server's config (which holds every door and secret).",
      "`knocktail knock NAME` sends the profile's steps, `--close` its closeSteps, and checks its verify port; options on the command line (`-4`, `-6`, `--delay`, `--verify`) win over the profile. A profile with `spa` sends one SPA packet instead, as `knocktail knock HOST --spa` would (then checks its verify port, or `--connect`s), and `--spa-port`, `--key-file`, `--hmac-key-file`, `--access`, `--allow` and `--fw-timeout` win over it; a profile is one kind or the other, never both. The file is validated as a whole, every problem reported with its JSON path.",
    ],
    example: CLIENT_EXAMPLE,
    files: [
      ['$XDG_CONFIG_HOME/knocktail/client.json', 'where profiles are read from (`--profiles FILE` elsewhere)'],
      ['~/.config/knocktail/client.json', 'the same, when XDG_CONFIG_HOME is not set'],
      [
        '/usr/share/knocktail/client.schema.json',
        'the JSON Schema this page is generated from, for "$schema" and editors (installed by the Debian package)',
      ],
    ],
    seeAlso: ['knocktail(8)', 'knocktail.json(5)', 'knock(1)'],
  });
}

/** Files written under `outDir`, relative paths first. */
export function docFiles(date: string, spec: ProgramSpec = programSpec()): Map<string, string> {
  return new Map([
    [join('man', 'knocktail.8'), renderCliManPage(spec, { date })],
    [join('man', 'knocktail.json.5'), configManPage(date, spec.version)],
    [join('man', 'knocktail-client.json.5'), clientManPage(date, spec.version)],
    [join('completion', 'knocktail.bash'), completionScript('bash', spec)],
    [join('completion', '_knocktail'), completionScript('zsh', spec)],
  ]);
}

export async function writeDocFiles(outDir: string, date: string): Promise<string[]> {
  const written: string[] = [];
  for (const [relative, text] of docFiles(date)) {
    const path = join(outDir, relative);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, text);
    written.push(path);
  }
  return written;
}
