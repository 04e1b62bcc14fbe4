import { describe, expect, test } from '@jest/globals';
import { join } from 'node:path';
import { findCycles, importsOf, readImportGraph, type ImportGraph } from './import-graph.js';

// The rules of the house (/work/shared/DESIGN.md, "Arrows that must never exist"), kept by a
// test instead of by care. A file's stage is its folder under src/ (the vocabulary in model/,
// the wiring in app/); no file lies loose at the top.
function stageOf(file: string): string {
  const slash = file.indexOf('/');
  return slash === -1 ? `loose ${file}` : file.slice(0, slash);
}

/** from-stage → the stages it must never import (DESIGN.md). */
const FORBIDDEN: readonly { readonly from: string; readonly to: (stage: string) => boolean; readonly rule: string }[] =
  [
    { from: 'model', to: (stage) => stage !== 'model', rule: 'model → any stage (the vocabulary imports no stage)' },
    { from: 'parse', to: (stage) => stage !== 'parse' && stage !== 'model', rule: 'parse → anything but the model' },
    {
      from: 'knock',
      to: (stage) => ['firewall', 'audit', 'source'].includes(stage),
      rule: 'knock → firewall/audit/source',
    },
    { from: 'firewall', to: (stage) => ['knock', 'source'].includes(stage), rule: 'firewall → knock or source' },
    { from: 'source', to: (stage) => stage === 'parse', rule: 'source → parse' },
    { from: 'spa', to: (stage) => stage === 'firewall', rule: 'spa → firewall' },
    { from: '*', to: (stage) => stage === 'cli', rule: 'anything below cli → cli' },
  ];

/** Every import that breaks a rule, as "from → to (rule)". */
function forbiddenArrows(graph: ImportGraph): string[] {
  const found: string[] = [];
  for (const [from, edges] of graph) {
    const fromStage = stageOf(from);
    for (const { to } of edges) {
      const toStage = stageOf(to);
      for (const { from: ruled, to: forbidden, rule } of FORBIDDEN) {
        if ((ruled === fromStage || (ruled === '*' && fromStage !== 'cli')) && forbidden(toStage))
          found.push(`${from} → ${to} (${rule})`);
      }
    }
  }
  return found.sort();
}

const graph = readImportGraph(join(process.cwd(), 'src'));

describe('the import graph of src/', () => {
  test('every file lies in a stage folder, none loose at the top of src/', () => {
    expect([...graph.keys()].filter((file) => stageOf(file).startsWith('loose'))).toEqual([]);
  });

  test('has none of the arrows DESIGN.md forbids', () => {
    expect(forbiddenArrows(graph)).toEqual([]);
  });

  test('builds a firewall backend in one place: only app/compose.ts (buildBackend) imports selectBackend', () => {
    expect(
      [...graph]
        .filter(([, edges]) => edges.some((edge) => edge.to === 'firewall/select-backend.ts'))
        .map(([file]) => file),
    ).toEqual(['app/compose.ts']);
  });

  test('has no import cycle, type-only imports included', () => {
    expect(findCycles(graph).map((cycle) => cycle.join(' → '))).toEqual([]);
  });
});

describe('the checks themselves', () => {
  test('read static, type-only, re-exported and dynamic imports', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from '../b.js';",
      "export { c } from './c.js';",
      "export type { D } from './d.js';",
      "const e = await import('./e.js');",
      "type F = import('./f.js').F;",
      "import ts from 'typescript';",
    ].join('\n');
    expect(importsOf(text).map(({ specifier, dynamic }) => `${specifier}${dynamic ? ' (dynamic)' : ''}`)).toEqual([
      './a.js',
      '../b.js',
      './c.js',
      './d.js',
      './e.js (dynamic)',
      './f.js',
      'typescript',
    ]);
  });

  test('find a forbidden arrow (dynamic ones too) and a cycle made only of type imports, but not a loop closed by a dynamic import', () => {
    const edges = (...to: string[]) => to.map((file) => ({ to: file.replace(/\?$/, ''), dynamic: file.endsWith('?') }));
    const bad: ImportGraph = new Map([
      ['knock/tracker.ts', edges('firewall/backend.ts', 'model/door.ts')],
      ['firewall/backend.ts', edges('model/grant.ts')],
      ['model/door.ts', edges('model/grant.ts')],
      ['model/grant.ts', edges('model/door.ts')],
      ['grant/engine.ts', edges('cli/context.ts?')],
      ['cli/command-table.ts', edges('cli/run.ts?')],
      ['cli/run.ts', edges('cli/command-table.ts')],
    ]);
    expect(forbiddenArrows(bad)).toEqual([
      'grant/engine.ts → cli/context.ts (anything below cli → cli)',
      'knock/tracker.ts → firewall/backend.ts (knock → firewall/audit/source)',
    ]);
    expect(findCycles(bad)).toEqual([['model/door.ts', 'model/grant.ts', 'model/door.ts']]);
  });
});
