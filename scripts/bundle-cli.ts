// Build step (`npm run build`, after tsc): dist/src/cli/main.js, the CLI entry, rebuilt by esbuild as
// one file holding what every start needs (main, program, the command table, commander) and
// the `status` command. Each ES module Node loads costs ~0.5 ms and commander's seven files
// ~4 ms, a third of `knocktail --version`; one file pays that once.
//
// Every other command stays a dynamic import of tsc's module beside it (dist/src/cli/run.js …),
// loaded only when it runs, so no package but commander is in the file: the build fails if one
// would be. src/errors.ts stays tsc's module too, so that KnocktailError is one class for the
// entry (which reports errors by `instanceof`) and the commands that throw it.
import { build, type Metafile, type Plugin } from 'esbuild';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Command modules inlined (code parsed at start, run only when the command runs); none may import a package. */
export const INLINED_COMMANDS = ['src/cli/status.ts'];
/** Modules of the entry's graph that stay tsc's shared module, because their identity matters. */
export const SHARED_MODULES = ['src/errors.ts'];
/** The one package in the file. */
export const BUNDLED_PACKAGES = ['commander'];

export interface BundleOptions {
  /** The repository: src/ is read from here, dist/ is written here. */
  readonly root: string;
}

// tsc's output for a source module: src/x/y.ts → dist/src/x/y.js, as an import path from dist/src/cli/.
function distPath(root: string, source: string): string {
  const target = join(root, 'dist', relative(root, source)).replace(/\.ts$/, '.js');
  const path = relative(join(root, 'dist', 'src', 'cli'), target);
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
        if (args.path.startsWith('node:') || BUNDLED_PACKAGES.includes(args.path) || args.importer.includes('/node_modules/')) return undefined;
        return { errors: [{ text: `${relative(root, args.importer)} imports ${args.path}: the CLI entry would load it at every start; import it from a command module that is not inlined` }] };
      });
    },
  };
}

/** Writes dist/src/cli/main.js (and its source map); returns esbuild's metafile. */
export async function bundleCli({ root }: BundleOptions): Promise<Metafile> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [join(root, 'src', 'cli', 'main.ts')],
    outfile: join(root, 'dist', 'src', 'cli', 'main.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // commander is CommonJS and requires Node built-ins; in an ES module `require` comes from createRequire.
    banner: { js: "import { createRequire as __knocktailRequire } from 'node:module';\nconst require = __knocktailRequire(import.meta.url);" },
    sourcemap: true,
    sourcesContent: false,
    legalComments: 'inline',
    metafile: true,
    logLevel: 'warning',
    plugins: [splitPlugin(root)],
  });
  return result.metafile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await bundleCli({ root: resolve(dirname(fileURLToPath(import.meta.url)), '..', '..') });
}
