import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_BACKEND, DEFAULT_STATE_DIR, glanceConfig } from '../../src/config/config-glance.js';
import { readSchema } from '../../src/config/schema-path.js';

describe('glanceConfig', () => {
  let dir: string;
  const write = async (text: string): Promise<string> => {
    const path = join(dir, 'config.json');
    await writeFile(path, text);
    return path;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kt-glance-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("its defaults are the schema's", () => {
    const properties = readSchema()['properties'] as Record<
      string,
      { default?: unknown; properties?: Record<string, { default?: unknown }> }
    >;
    expect(DEFAULT_STATE_DIR).toBe(properties['stateDir']?.default);
    expect(DEFAULT_BACKEND).toBe(properties['firewall']?.properties?.['backend']?.default);
  });

  test('reads stateDir (relative to the config file), backend and alwaysAllow from a config that would not validate', async () => {
    const path = await write(
      JSON.stringify({
        stateDir: 'state',
        firewall: { backend: 'nftables', retries: 'many' },
        limits: { alwaysAllow: ['192.0.2.1', 7] },
        doors: 'none',
      }),
    );
    expect(await glanceConfig(path)).toEqual({
      stateDir: join(dir, 'state'),
      backend: 'nftables',
      alwaysAllow: ['192.0.2.1'],
    });
  });

  test('fills the defaults for what is missing or of the wrong type', async () => {
    expect(await glanceConfig(await write(JSON.stringify({ firewall: [], limits: { alwaysAllow: 'x' } })))).toEqual({
      stateDir: DEFAULT_STATE_DIR,
      backend: DEFAULT_BACKEND,
      alwaysAllow: [],
    });
  });

  test('gives up (for the full loader to explain) on an unreadable file, non-JSON, a non-object or a stateDir that is not a non-empty string', async () => {
    expect(await glanceConfig(join(dir, 'missing.json'))).toBeUndefined();
    expect(await glanceConfig(await write('{ "stateDir": '))).toBeUndefined();
    expect(await glanceConfig(await write('[]'))).toBeUndefined();
    expect(await glanceConfig(await write('{"stateDir": 3}'))).toBeUndefined();
    expect(await glanceConfig(await write('{"stateDir": ""}'))).toBeUndefined();
  });
});
