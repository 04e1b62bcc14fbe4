import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { precompiledSchemaModule } from '../../src/config/schema-precompile.js';
import { compileSchemaCheck } from '../../src/config/schema-validator.js';

// The build's precompiled validator must answer exactly as ajv compiling the schema at run
// time, and must never be used once the schema it was built from has changed.
const documents: unknown[] = [
  { doors: [{ name: 'ssh', sequence: ['tcp:7000', 'udp:8000'], open: ['tcp:22'] }] },
  { doors: [{ name: 'X', sequence: [] }], bogus: 1 },
  { firewall: { backend: 'pf' }, doors: 'none' },
  {
    limits: { maxOpenFor: 'forever' },
    doors: [{ name: 'web', sequence: ['tcp:99999'], open: ['udp:53'], openFor: 'until-closed' }],
  },
  [],
];

let dir: string;
let source: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kt-precompile-'));
  source = precompiledSchemaModule();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the precompiled schema validator', () => {
  test('reports the same problems and fills the same defaults as the runtime compile', async () => {
    const path = join(dir, 'current.cjs');
    await writeFile(path, source);
    const precompiled = compileSchemaCheck(path);
    const runtime = compileSchemaCheck(null);
    for (const document of documents) {
      const a = structuredClone(document);
      const b = structuredClone(document);
      expect(precompiled(a)).toEqual(runtime(b));
      expect(a).toEqual(b);
    }
  });

  test('is used when it was built from the shipped schema', async () => {
    const path = join(dir, 'marked.cjs');
    // A validator that accepts nothing shows whether the file was used at all.
    await writeFile(
      path,
      `${source}\nmodule.exports.validate = Object.assign(() => false, { errors: [{ instancePath: '', keyword: 'marker', params: {}, message: 'precompiled' }] });\n`,
    );
    expect(compileSchemaCheck(path)({ doors: [] })).toHaveLength(1);
  });

  test('is ignored when the schema changed after the build', async () => {
    const path = join(dir, 'stale.cjs');
    await writeFile(
      path,
      `${source}\nmodule.exports.validate = () => false;\nmodule.exports.schemaHash = 'built-from-an-older-schema';\n`,
    );
    expect(compileSchemaCheck(path)({ doors: [{ name: 'ssh', sequence: ['tcp:7000'], open: ['tcp:22'] }] })).toEqual(
      [],
    );
  });
});
