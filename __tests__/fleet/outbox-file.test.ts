import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outboxFile } from '../../src/fleet/outbox-file.js';
import { fleetOutboxPath } from '../../src/app/state-paths.js';

// The fleet outbox on disk: what one run of the daemon saves, the next loads, byte for byte;
// no file is an empty outbox; a file that is not an outbox is moved aside, never used.
const T0 = Date.parse('2026-12-01T09:00:00Z');
const envelope = (id: string) => ({
  v: 1,
  group: 'bastions',
  id,
  host: 'b2',
  iat: T0,
  exp: T0 + 1000,
  type: 'grant',
  body: { action: 'close' },
  sig: 'x',
});

describe('the fleet outbox file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kt-outbox-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('saved and loaded again: the same envelopes with what they replaced, in order; the file is 0600 in the state directory', async () => {
    const stateDir = join(dir, 'state');
    const path = fleetOutboxPath({ stateDir });
    expect(path).toBe(join(stateDir, 'fleet-outbox.json'));
    const warnings: string[] = [];
    const store = outboxFile(
      path,
      () => T0,
      (message) => warnings.push(message),
    );
    expect(await store.load()).toEqual([]);
    await store.save([{ envelope: envelope('a'), after: 'x' }, { envelope: envelope('b') }]);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await store.load()).toEqual([{ envelope: envelope('a'), after: 'x' }, { envelope: envelope('b') }]);
    await store.save([]);
    expect(await store.load()).toEqual([]);
    expect(warnings).toEqual([]);
  });

  test.each([
    ['not JSON', '{"version":1,"grants":['],
    ['another version', '{"version":2,"grants":[]}'],
    ['an envelope that is not an object', '{"version":1,"grants":[{"envelope":"text"}]}'],
    ['after that is not an id', '{"version":1,"grants":[{"envelope":{},"after":7}]}'],
  ])('a file holding %s is moved aside with a warning and counts as empty', async (_name, text) => {
    const sub = await mkdtemp(join(dir, 'bad-'));
    const path = fleetOutboxPath({ stateDir: sub });
    await writeFile(path, text);
    const warnings: string[] = [];
    expect(
      await outboxFile(
        path,
        () => T0,
        (message) => warnings.push(message),
      ).load(),
    ).toEqual([]);
    expect(warnings).toEqual([expect.stringContaining('is not an outbox file')]);
    const names = await readdir(sub);
    expect(names).toEqual([`fleet-outbox.json.corrupt-${new Date(T0).toISOString()}`]);
    expect(await readFile(join(sub, names[0]!), 'utf8')).toBe(text);
  });
});
