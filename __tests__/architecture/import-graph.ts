import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

// The import graph of src/, read with the TypeScript compiler's parser: every static import
// and re-export (type-only ones included) and every dynamic import() with a literal path.

/** One arrow: the imported file, and whether it is a dynamic import() (loaded when called, not with the module). */
export interface ImportEdge {
  readonly to: string;
  readonly dynamic: boolean;
}

/** src-relative path (e.g. "knock/tracker.ts") → the src-relative files it imports. */
export type ImportGraph = Map<string, readonly ImportEdge[]>;

/** A module specifier a file names, and whether it is a dynamic import(). */
export interface ImportSpecifier {
  readonly specifier: string;
  readonly dynamic: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The module specifiers a TypeScript file names. */
export function importsOf(text: string, fileName = 'file.ts'): ImportSpecifier[] {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: ImportSpecifier[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      found.push({ specifier: node.moduleSpecifier.text, dynamic: false });
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      found.push({ specifier: node.arguments[0].text, dynamic: true });
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      found.push({ specifier: node.argument.literal.text, dynamic: false });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** Every .ts file under `srcDir` with the files of `srcDir` it imports (packages and JSON left out). */
export function readImportGraph(srcDir: string): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const path of sourceFiles(srcDir)) {
    const edges = new Map<string, ImportEdge>();
    for (const { specifier, dynamic } of importsOf(readFileSync(path, 'utf8'), path)) {
      const target = resolve(dirname(path), specifier.replace(/\.js$/, '.ts'));
      if (!specifier.startsWith('.') || !target.endsWith('.ts')) continue;
      const to = relative(srcDir, target);
      // A file imported both ways is a static import.
      if (!edges.has(to) || !dynamic) edges.set(to, { to, dynamic });
    }
    graph.set(relative(srcDir, path), [...edges.values()]);
  }
  return graph;
}

/**
 * Every cycle of static imports (type-only ones included), each as the files in import order
 * from the smallest name, that name repeated at the end. A dynamic import() is a call made
 * later, not part of loading the module: the command table loads each command that way, and
 * a command may name the table's types without a cycle.
 */
export function findCycles(graph: ImportGraph): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const walk = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const { to: next, dynamic } of graph.get(node) ?? []) {
      if (dynamic) continue;
      if (state.get(next) === 'open') cycles.push(fromSmallest(stack.slice(stack.indexOf(next))));
      else if (!state.has(next)) walk(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) walk(node);
  return cycles;
}

function fromSmallest(cycle: readonly string[]): string[] {
  const start = cycle.indexOf([...cycle].sort()[0]!);
  const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
  return [...rotated, rotated[0]!];
}
