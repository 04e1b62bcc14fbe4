import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KnocktailError } from '../../src/model/errors.js';
import { loadState, saveState, type PersistedState } from '../../src/grant/state-file.js';

const T0 = Date.UTC(2026, 10, 24, 12);
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'knocktail-state-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const state: PersistedState = {
  version: 1,
  grants: [
    {
      door: 'ssh',
      src: '203.0.113.9',
      family: 4,
      ports: [{ proto: 'tcp', port: 22 }],
      openedAt: T0,
      until: T0 + 3_600_000,
    },
    {
      door: 'classic',
      src: '2001:db8::9',
      family: 6,
      ports: [
        { proto: 'tcp', port: 22 },
        { proto: 'udp', port: 60001 },
      ],
      openedAt: T0,
      until: null,
    },
  ],
  usedOneTime: ['vault:udp:4001,udp:4002'],
};

async function expectCorrupt(content: string, pattern: RegExp): Promise<void> {
  const path = join(dir, 'state.json');
  await writeFile(path, content);
  const error = await loadState(path).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(KnocktailError);
  expect((error as KnocktailError).code).toBe('STATE_CORRUPT');
  expect((error as KnocktailError).message).toContain(path);
  expect((error as KnocktailError).message).toMatch(pattern);
}

describe('state file', () => {
  test('what is saved loads back the same', async () => {
    const path = join(dir, 'state.json');
    await saveState(path, state);
    expect(await loadState(path)).toEqual(state);
  });

  test('a symlink at state.json is never followed: root reading it (status, an offline grant) learns nothing of its target', async () => {
    const secret = join(dir, 'shadow');
    await writeFile(secret, 'root:$6$s3cr3t:19700:0:99999:7:::\n');
    await symlink(secret, join(dir, 'state.json'));
    const error = await loadState(join(dir, 'state.json')).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toMatchObject({ code: 'STATE_IO', message: expect.stringContaining('ELOOP') });
    expect((error as Error).message).not.toContain('s3cr3t');
  });

  test('a missing file is an empty state', async () => {
    expect(await loadState(join(dir, 'nothing-yet.json'))).toEqual({ version: 1, grants: [], usedOneTime: [] });
  });

  test('saving creates the directory 0700 and the file 0600, and leaves no temp file behind', async () => {
    const path = join(dir, 'lib', 'knocktail', 'state.json');
    await saveState(path, state);
    await saveState(path, { ...state, grants: [] });
    expect((await stat(join(dir, 'lib', 'knocktail'))).mode & 0o777).toBe(0o700);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, 'lib', 'knocktail'))).toEqual(['state.json']);
    expect((await loadState(path)).grants).toEqual([]);
  });

  test('a save that cannot happen leaves the old file whole and reports STATE_IO', async () => {
    const path = join(dir, 'state.json');
    await saveState(path, state);
    const before = await readFile(path, 'utf8');
    // A directory where the file should be renamed to makes the rename fail after the temp file is written.
    const blocked = join(dir, 'blocked');
    await saveState(join(blocked, 'x'), state);
    const error = await saveState(blocked, state).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect((error as KnocktailError).code).toBe('STATE_IO');
    expect(await readFile(path, 'utf8')).toBe(before);
    expect((await readdir(dir)).sort()).toEqual(['blocked', 'state.json']);
  });

  test('addresses are normalised on load', async () => {
    const path = join(dir, 'state.json');
    const grant = { ...state.grants[1]!, src: '2001:DB8:0:0:0:0:0:9' };
    await writeFile(path, JSON.stringify({ ...state, grants: [grant] }));
    expect((await loadState(path)).grants[0]!.src).toBe('2001:db8::9');
  });

  test('a file that is not JSON is reported as corrupt, naming the file', async () => {
    await expectCorrupt('{"version":1,"grants":[', /expected JSON/);
  });

  test('a wrong version is reported', async () => {
    await expectCorrupt(JSON.stringify({ ...state, version: 2 }), /expected version to be 1, got `2` \(number\)/);
  });

  test('every bad grant field is named with its position', async () => {
    const bad = { ...state.grants[0]!, src: 'not-an-ip', until: 'later' };
    const path = join(dir, 'state.json');
    await writeFile(path, JSON.stringify({ ...state, grants: [state.grants[0], bad] }));
    const error = (await loadState(path).catch((caught: unknown) => caught)) as KnocktailError;
    expect(error.message).toMatch(/grants\[1\]\.src to be an IP address, got `"not-an-ip"` \(string\)/);
    expect(error.details).toEqual([
      'expected grants[1].src to be an IP address, got `"not-an-ip"` (string)',
      'expected grants[1].until to be epoch ms or null, got `"later"` (string)',
    ]);
  });

  test('bad ports and used one-time keys are reported', async () => {
    await expectCorrupt(
      JSON.stringify({ ...state, grants: [{ ...state.grants[0], ports: [{ proto: 'sctp', port: 22 }] }] }),
      /grants\[0\]\.ports/,
    );
    await expectCorrupt(JSON.stringify({ ...state, usedOneTime: [1] }), /usedOneTime/);
    await expectCorrupt('[]', /expected an object/);
  });
});
