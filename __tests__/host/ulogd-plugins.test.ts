import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findUlogdPluginDir } from '../../src/host/ulogd-plugins.js';

let lib: string;

beforeEach(async () => {
  lib = await mkdtemp(join(tmpdir(), 'kt-ulogd-lib-'));
});

afterEach(async () => {
  await rm(lib, { recursive: true, force: true });
});

describe('findUlogdPluginDir', () => {
  test("finds Debian's multiarch directory, and nothing when ulogd2 is not installed", async () => {
    expect(await findUlogdPluginDir(lib)).toBeUndefined();
    await mkdir(join(lib, 'aarch64-linux-gnu', 'ulogd'), { recursive: true });
    expect(await findUlogdPluginDir(lib)).toBeUndefined();
    await writeFile(join(lib, 'aarch64-linux-gnu', 'ulogd', 'ulogd_inppkt_NFLOG.so'), '');
    expect(await findUlogdPluginDir(lib)).toBe(join(lib, 'aarch64-linux-gnu', 'ulogd'));
  });

  test('a plain /usr/lib/ulogd (other builds) comes first', async () => {
    for (const dir of [join(lib, 'ulogd'), join(lib, 'x86_64-linux-gnu', 'ulogd')]) {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'ulogd_inppkt_NFLOG.so'), '');
    }
    expect(await findUlogdPluginDir(lib)).toBe(join(lib, 'ulogd'));
  });
});
