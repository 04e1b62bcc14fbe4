import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtCli, repoRoot } from './support/built-cli.js';

// What the built CLI (dist/src/cli/main.js, the esbuild entry of `npm run build`) really loads:
// a preload records every ES module Node resolves and every CommonJS module in require's cache.
// Needs the build, not root. Timings are the bench's (`npm run bench -- --only cli`); this checks
// the property behind them: a quick command loads the entry, errors.js and Node built-ins only.

// Resolve hooks run on the loader thread; each URL is appended to the file the test names.
const HOOKS = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(process.env.KT_PROBE_LOG, result.url + '\\n');
  return result;
}
`;
const PRELOAD = `import { register, createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
register(new URL('./hooks.mjs', import.meta.url));
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => appendFileSync(process.env.KT_PROBE_LOG, Object.keys(cache).map((path) => pathToFileURL(path).href + '\\n').join('')));
`;

let dir: string;
let config: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kt-cli-start-'));
  await writeFile(join(dir, 'hooks.mjs'), HOOKS);
  await writeFile(join(dir, 'preload.mjs'), PRELOAD);
  config = join(dir, 'config.json');
  const door = {
    name: 'ssh',
    sequence: ['tcp:7000', 'udp:8000', 'tcp:9000'],
    timeout: '10s',
    open: ['tcp:22'],
    openFor: '30s',
  };
  await writeFile(
    config,
    JSON.stringify({
      logFile: join(dir, 'knock.log'),
      stateDir: join(dir, 'state'),
      auditLog: join(dir, 'audit.log'),
      firewall: { backend: 'dry-run' },
      doors: [door],
    }),
  );
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

let runs = 0;
/** The modules a run of the built CLI loaded: package names from node_modules, and the repository's own files. */
async function loaded(argv: readonly string[]): Promise<{ packages: string[]; files: string[] }> {
  const log = join(dir, `run-${++runs}.log`);
  execFileSync(process.execPath, ['--import', join(dir, 'preload.mjs'), builtCli(), ...argv], {
    env: { ...process.env, KT_PROBE_LOG: log, NO_COLOR: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const paths = [...new Set((await readFile(log, 'utf8')).split('\n'))]
    .filter((url) => url.startsWith('file:'))
    .map((url) => fileURLToPath(url));
  const packages = paths
    .map((path) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1])
    .filter((name) => name !== undefined);
  const files = paths
    .filter((path) => path.startsWith(repoRoot) && !path.includes('/node_modules/'))
    .map((path) => relative(repoRoot, path));
  return {
    packages: [...new Set(packages)].sort(),
    files: files.filter((file) => !file.startsWith(relative(repoRoot, dir))).sort(),
  };
}

describe('what a quick command of the built CLI loads', () => {
  test.each([[['--version']], [['knock', '--help']], [['status', '-c', '<config>']], [['--help']]])(
    'knocktail %j: the entry and errors.js, no package',
    async (argv) => {
      const run = await loaded(argv.map((arg) => (arg === '<config>' ? config : arg)));
      expect(run).toEqual({ packages: [], files: ['dist/src/cli/main.js', 'dist/src/model/errors.js'] });
    },
  );

  test('replay loads its one-file bundle and, beside it, only the modules that stay shared (errors.js) or find files next to themselves (the validator)', async () => {
    const log = join(dir, 'knock.log');
    await writeFile(
      log,
      'Nov 24 08:00:01 vm kernel: knocktail: IN=eth0 OUT= SRC=203.0.113.9 DST=198.51.100.1 PROTO=TCP SPT=40000 DPT=7000 SYN URGP=0\n',
    );
    const run = await loaded(['replay', '-c', config, log]);
    expect(run.packages).toEqual(['ajv', 'ipaddr.js']);
    expect(
      run.files.filter((file) => !file.startsWith('dist/src/config/') && file !== 'dist/src/model/duration.js'),
    ).toEqual(['dist/src/cli/main.js', 'dist/src/cli/replay.js', 'dist/src/model/errors.js']);
    expect(run.files).toContain('dist/src/config/schema-validator.js');
  });

  test('check-config does load the validator and its own modules (so the probe sees both kinds of module)', async () => {
    const run = await loaded(['check-config', '-c', config]);
    expect(run.packages).toEqual(expect.arrayContaining(['ajv']));
    expect(run.files).toEqual(
      expect.arrayContaining(['dist/src/cli/check-config.js', 'dist/src/config/load-config.js']),
    );
  });
});
