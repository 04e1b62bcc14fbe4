// Build step (`npm run build`, after tsc): dist/src/cli/main.js, the CLI entry, rebuilt by esbuild as
// one file holding what every start needs (main, program, the command table, commander) and
// the `status` command. Each ES module Node loads costs ~0.5 ms and commander's seven files
// ~4 ms, a third of `knocktail --version`; one file pays that once.
//
// Every other command stays a dynamic import of tsc's module beside it (dist/src/cli/run.js …),
// loaded only when it runs, so no package but commander is in the file: the build fails if one
// would be. src/model/errors.ts stays tsc's module too, so that KnocktailError is one class for the
// entry (which reports errors by `instanceof`) and the commands that throw it.
//
// `replay` (the demo of `npm start`, and the command that reads the biggest inputs) is
// rebuilt the same way into dist/src/cli/replay.js: its ~90 modules and ipaddr.js in one file,
// which takes ~50 ms off every replay. errors.ts stays shared, and so do the modules that find
// files beside themselves (LOCATED_MODULES): their import.meta.url must stay their own.
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Command modules inlined (code parsed at start, run only when the command runs); none may import a package. */
export const INLINED_COMMANDS = ['src/cli/status.ts'];
/** Modules of the entry's graph that stay tsc's shared module, because their identity matters. */
export const SHARED_MODULES = ['src/model/errors.ts'];
/** The one package in the file. */
export const BUNDLED_PACKAGES = ['commander'];
/** Commands rebuilt as one file of their own, each over tsc's module at the same path. */
export const BUNDLED_COMMANDS = ['src/cli/replay.ts'];
/** Modules that load a file next to themselves (the precompiled validator), so a bundle keeps tsc's module. */
export const LOCATED_MODULES = ['src/config/schema-validator.ts'];

export interface BundleOptions {
  /** The repository: src/ is read from here, dist/ is written here. */
  readonly root: string;
}

// tsc's output for a source module (src/x/y.ts → dist/src/x/y.js), as an import path from `fromDir` (default dist/src/cli/).
function distPath(root: string, source: string, fromDir = join(root, 'dist', 'src', 'cli')): string {
  const target = join(root, 'dist', relative(root, source)).replace(/\.ts$/, '.js');
  const path = relative(fromDir, target);
  return path.startsWith('.') ? path : `./${path}`;
}

function splitPlugin(root: string): Plugin {
  const inlined = new Set(INLINED_COMMANDS.map((path) => join(root, path)));
  const shared = new Set(SHARED_MODULES.map((path) => join(root, path)));
  return {
    name: 'knocktail-entry',
    setup(context) {
      context.onResolve({ filter: /^\./ }, (args) => {
        const source = resolve(args.resolveDir, args.path).replace(/\.js$/, '.ts');
        if (!source.startsWith(join(root, 'src'))) return undefined;
        const lazy = args.kind === 'dynamic-import' && !inlined.has(source);
        return lazy || shared.has(source) ? { path: distPath(root, source), external: true } : undefined;
      });
      context.onResolve({ filter: /^[^./]/ }, (args) => {
        if (
          args.path.startsWith('node:') ||
          BUNDLED_PACKAGES.includes(args.path) ||
          args.importer.includes('/node_modules/')
        )
          return undefined;
        return {
          errors: [
            {
              text: `${relative(root, args.importer)} imports ${args.path}: the CLI entry would load it at every start; import it from a command module that is not inlined`,
            },
          ],
        };
      });
    },
  };
}

// A bundled command: every module of ours inlined (its lazy imports too) but the shared and located ones; packages inlined.
function commandPlugin(root: string, outDir: string): Plugin {
  const kept = new Set([...SHARED_MODULES, ...LOCATED_MODULES].map((path) => join(root, path)));
  return {
    name: 'knocktail-command',
    setup(context) {
      context.onResolve({ filter: /^\./ }, (args) => {
        const source = resolve(args.resolveDir, args.path).replace(/\.js$/, '.ts');
        return kept.has(source) ? { path: distPath(root, source, outDir), external: true } : undefined;
      });
    },
  };
}

// What every bundle is built with. CommonJS packages (commander, ipaddr.js) require Node
// built-ins; in an ES module `require` comes from createRequire.
const COMMON = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  banner: {
    js: "import { createRequire as __knocktailRequire } from 'node:module';\nconst require = __knocktailRequire(import.meta.url);",
  },
  sourcemap: true,
  sourcesContent: false,
  legalComments: 'inline',
  metafile: true,
  logLevel: 'warning',
} satisfies BuildOptions;

/** Rebuilds each of BUNDLED_COMMANDS over tsc's module (dist/src/cli/NAME.js); returns esbuild's metafiles. */
export async function bundleCommands({ root }: BundleOptions): Promise<Metafile[]> {
  const metafiles: Metafile[] = [];
  for (const command of BUNDLED_COMMANDS) {
    const outfile = join(root, 'dist', command).replace(/\.ts$/, '.js');
    const result = await build({
      absWorkingDir: root,
      entryPoints: [join(root, command)],
      outfile,
      allowOverwrite: true,
      ...COMMON,
      plugins: [commandPlugin(root, dirname(outfile))],
    });
    metafiles.push(result.metafile);
  }
  return metafiles;
}

/** Writes dist/src/cli/main.js (and its source map); returns esbuild's metafile. */
export async function bundleCli({ root }: BundleOptions): Promise<Metafile> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [join(root, 'src', 'cli', 'main.ts')],
    outfile: join(root, 'dist', 'src', 'cli', 'main.js'),
    ...COMMON,
    plugins: [splitPlugin(root)],
  });
  return result.metafile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  await bundleCommands({ root });
  await bundleCli({ root });
}
