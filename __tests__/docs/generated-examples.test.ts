import { describe, expect, test } from '@jest/globals';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCliCaptured } from '../cli/run-cli.js';

// Examples in the README and docs/ that show real output are generated, not typed: a block
// that follows `<!-- generated: knocktail ARGS [| grep [-v] TEXT]... [| head -N] -->` must be
// what the command prints today (less the "Replayed in … s." timing line). With
// KNOCKTAIL_UPDATE_DOCS=1 the test rewrites the blocks instead of failing.
const root = fileURLToPath(new URL('../../', import.meta.url));
const MARKER = /<!-- generated: knocktail ([^\n]*?) -->\n\n?```[a-z]*\n([\s\S]*?)```/g;

interface Example {
  readonly file: string;
  readonly command: string;
  readonly shown: string;
  /** The marker and its block as the file holds them. */
  readonly whole: string;
}

function examplesIn(file: string): Example[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(MARKER)].map((match) => ({ file, command: match[1]!, shown: match[2]!, whole: match[0] }));
}

async function outputOf(command: string): Promise<string> {
  const [cli, ...filters] = command.split(' | ');
  const run = await runCliCaptured(cli!.split(' '), { cwd: root });
  let lines = run.stdout.split('\n').filter((line) => !/^Replayed in [\d.]+ s/.test(line));
  for (const filter of filters) {
    const [tool, ...args] = filter.split(' ');
    if (tool === 'head') lines = lines.slice(0, Number(args[0]!.replace('-', '')));
    else if (tool === 'grep' && args[0] === '-v')
      lines = lines.filter((line) => !line.includes(args.slice(1).join(' ')));
    else if (tool === 'grep') lines = lines.filter((line) => line.includes(args.join(' ')));
    else throw new Error(`unknown filter ${filter}`);
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

const files = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];
const examples = files.flatMap(examplesIn);

describe('generated examples in the documentation', () => {
  test('the demo report in the README and the --commands example in docs/replay.md are among them', () => {
    expect(examples.map((example) => `${example.file}: ${example.command.split(' ')[0]}`)).toEqual(
      expect.arrayContaining(['README.md: replay', 'docs/replay.md: replay']),
    );
  });

  test.each(examples.map((example) => [`${example.file}: knocktail ${example.command}`, example] as const))(
    '%s',
    async (_name, example) => {
      const real = await outputOf(example.command);
      if (process.env['KNOCKTAIL_UPDATE_DOCS'] === '1' && real !== example.shown) {
        const path = join(root, example.file);
        // The block's text is what precedes its closing fence.
        const fresh = `${example.whole.slice(0, example.whole.length - 3 - example.shown.length)}${real}\`\`\``;
        writeFileSync(path, readFileSync(path, 'utf8').replace(example.whole, fresh));
        return;
      }
      expect(example.shown).toBe(real);
    },
  );
});
