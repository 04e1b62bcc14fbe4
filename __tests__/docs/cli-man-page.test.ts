import { describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { CliContext } from '../../src/cli/context.js';
import { docFiles, programSpec, writeDocFiles } from '../../src/cli/docs-files.js';
import { buildProgram } from '../../src/cli/program.js';
import { renderCliManPage } from '../../src/docs/cli-man-page.js';
import { describeProgram } from '../../src/docs/cli-spec.js';
import { roffText } from '../../src/docs/roff.js';
import { testWith } from './doc-tools.js';

// knocktail(8) is generated from the commander program that parses the command line, so
// every command, argument and option the parser knows is in the page.
const ctx: CliContext = {
  argv: [],
  env: {},
  cwd: '/',
  stdout: new PassThrough(),
  stderr: new PassThrough(),
  signals: { onStop: () => undefined, onReload: () => undefined },
};
const roffName = (name: string): string => name.replace(/-/g, '\\-');

function sections(page: string): Map<string, string> {
  const parts = page.split(/^\.SS /m).slice(1);
  return new Map(parts.map((part) => [part.slice(0, part.indexOf('\n')).replace(/"/g, ''), part]));
}

describe('knocktail(8)', () => {
  const program = buildProgram(ctx, () => undefined);
  const page = renderCliManPage(describeProgram(program), { date: '2026-12-01' });

  test('every command of the program has a section with each of its arguments and options', () => {
    const bySection = sections(page);
    expect([...bySection.keys()]).toEqual(program.commands.map((command) => command.name()));
    for (const command of program.commands) {
      const section = bySection.get(command.name())!;
      for (const argument of command.registeredArguments)
        expect(section).toContain(`\\fI${roffName(argument.name())}\\fR`);
      for (const option of command.options)
        expect(section).toContain(`\\fB${roffName(option.long ?? option.short!)}\\fR`);
    }
  });

  test('an option added to a command shows up in the page without touching the generator', () => {
    const changed = buildProgram(ctx, () => undefined);
    changed.commands.find((command) => command.name() === 'status')!.option('--brand-new <thing>', 'a fresh option');
    const section = sections(renderCliManPage(describeProgram(changed), { date: '2026-12-01' })).get('status')!;
    expect(section).toContain('\\fB\\-\\-brand\\-new\\fR \\fIthing\\fR');
    expect(section).toContain('A fresh option.');
    expect(sections(page).get('status')).not.toContain('brand');
  });

  test('choices and mandatory options are stated; the version is in the header', () => {
    const bySection = sections(page);
    expect(bySection.get('import')).toContain('One of: \\fBknockd\\fR, \\fBfwknop\\fR, \\fBfwknoprc\\fR.');
    expect(bySection.get('completion')).toContain('One of: \\fBbash\\fR, \\fBzsh\\fR.');
    expect(bySection.get('grant')).toMatch(/\\fB\\-d\\fR, \\fB\\-\\-door\\fR \\fIname\\fR\n.*Required\./);
    expect(page).toContain(`.TH KNOCKTAIL 8 2026-12-01 "knocktail ${programSpec().version}" "System Administration"`);
  });

  test('no text line starts with a control character (a description beginning with "." or "\'")', () => {
    const spec = describeProgram(program);
    const tricky = {
      ...spec,
      commands: [{ name: 'x', description: ".dangerous\n'quote", arguments: [], options: [] }],
    };
    const rendered = renderCliManPage(tricky, { date: '2026-12-01' });
    expect(rendered).toContain('\\&.dangerous');
    expect(rendered).toContain("\\&'quote");
  });

  testWith('mandoc', 'mandoc -Tlint finds nothing at warning level or above in either page', () => {
    for (const [name, text] of docFiles('2026-12-01')) {
      if (!name.startsWith('man')) continue;
      const out = execFileSync('mandoc', ['-Tlint', '-W', 'warning'], { input: text, encoding: 'utf8' });
      expect(`${name}: ${out}`).toBe(`${name}: `);
    }
  });

  testWith('groff', 'groff renders both pages without a warning, and the text shows the options as typed', () => {
    for (const [name, text] of docFiles('2026-12-01')) {
      if (!name.startsWith('man')) continue;
      const rendered = execFileSync('sh', ['-c', 'groff -man -Tutf8 -ww 2>&1 >/dev/null'], {
        input: text,
        encoding: 'utf8',
      });
      expect(`${name}: ${rendered}`).toBe(`${name}: `);
    }
    const text = execFileSync('groff', ['-man', '-Tascii', '-P', '-cbou'], {
      input: docFiles('2026-12-01').get(join('man', 'knocktail.8')),
      encoding: 'utf8',
    });
    expect(text.replace(/ +/g, ' ')).toContain('knocktail knock [-d name] [--close]');
    expect(text).toContain('-c, --config file');
  });

  test('writeDocFiles writes the pages and scripts under man/ and completion/', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ktdt-docs-'));
    try {
      const written = await writeDocFiles(dir, '2026-12-01');
      expect(written.map((path) => path.slice(dir.length + 1)).sort()).toEqual([
        'completion/_knocktail',
        'completion/knocktail.bash',
        'man/knocktail-client.json.5',
        'man/knocktail.8',
        'man/knocktail.json.5',
      ]);
      expect(await readFile(join(dir, 'man', 'knocktail.8'), 'utf8')).toBe(
        docFiles('2026-12-01').get(join('man', 'knocktail.8')),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('roffText', () => {
  test('non-ASCII characters become Unicode escapes, since roff input is ASCII', () => {
    expect(roffText('at least 10 s — period ≥ 10s')).toBe('at least 10 s \\[u2014] period \\[u2265] 10s');
  });
});
