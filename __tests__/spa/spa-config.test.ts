import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfigWarnings } from '../../src/config/config-warnings.js';
import { validateConfig } from '../../src/config/load-config.js';
import { recorded } from './spa-fixtures.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kt-spa-config-'));
  await writeFile(join(dir, 'spa.key'), `${recorded.key}\n`);
  await writeFile(join(dir, 'spa-hmac.key'), `HMAC_KEY_BASE64: ${recorded.hmacKey}\n`);
  await writeFile(join(dir, 'bad.key'), 'not base64 at all!\n');
  await writeFile(join(dir, 'long.key'), `${Buffer.alloc(48, 1).toString('base64')}\n`);
  await writeFile(join(dir, 'fleet.key'), `${'k'.repeat(48)}\n`);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const spaDoor = (spa: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  name: 'spa',
  spa: { keyFile: 'spa.key', hmacKeyFile: 'spa-hmac.key', ...spa },
  open: ['tcp:22'],
  openFor: '30s',
  ...extra,
});

function validate(...doors: unknown[]) {
  return validateConfig({ doors }, { baseDir: dir });
}

const errors = (...doors: unknown[]): string[] => {
  const result = validate(...doors);
  return result.ok ? [] : result.errors;
};

describe('SPA doors in the config', () => {
  test('the issue’s door loads with its keys read and fwknop’s defaults filled in', () => {
    const result = validate(spaDoor());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.doors[0]).toMatchObject({
      name: 'spa',
      sequence: [],
      openFor: 30_000,
      spa: {
        port: 62201,
        key: recorded.key,
        hmacKey: recorded.hmacKey,
        maxAge: 120_000,
        allowNat: false,
        requireSourceAddress: false,
      },
    });
  });

  test('key files are checked like the fleet key, and as fwknop keys, with JSON paths', () => {
    expect(errors(spaDoor({ keyFile: 'missing.key' }))[0]).toMatch(
      /^doors\[0\]\.spa\.keyFile: cannot read the key from ".*missing\.key": /,
    );
    expect(errors(spaDoor({ keyFile: 'bad.key' }))).toEqual([
      expect.stringMatching(/^doors\[0\]\.spa\.keyFile: expected a KEY_BASE64 value/),
    ]);
    expect(errors(spaDoor({ keyFile: 'long.key' }))).toEqual([
      expect.stringMatching(/^doors\[0\]\.spa\.keyFile: expected at most 32 bytes once decoded, got 48/),
    ]);
    expect(errors(spaDoor({ hmacKeyFile: dir }))).toEqual([
      expect.stringMatching(/^doors\[0\]\.spa\.hmacKeyFile: cannot read the HMAC key .*not a regular file/),
    ]);
  });

  test('an SPA door has no sequences, a real openFor, and its port is its own', () => {
    expect(errors(spaDoor({}, { sequence: ['tcp:7000'] }))).toEqual([
      'doors[0].sequence: expected none on an SPA door (the packet is the knock), got a sequence',
    ]);
    expect(errors(spaDoor({}, { openFor: 'until-closed' }))).toContainEqual(
      expect.stringMatching(/^doors\[0\]\.openFor: /),
    );
    expect(errors(spaDoor({ port: 8000 }), { name: 'knock', sequence: ['udp:8000'], open: ['tcp:22'] })).toEqual([
      'doors[0].spa.port: udp:8000 is a knock or open port of doors[1]; an SPA port must be used by SPA doors only',
    ]);
    expect(errors(spaDoor({ maxAge: '2d' }))).toEqual(['doors[0].spa.maxAge: expected 1s to 1d, got "2d"']);
    expect(errors(spaDoor({ prot: 1 }))[0]).toMatch(/^doors\[0\]\.spa/);
  });

  test('an SPA door may be a fleet door (its replay cache is then group-wide), given a fleet block', () => {
    const fleet = { servers: ['nats://198.51.100.1:4222'], group: 'bastions', keyFile: 'fleet.key', host: 'b1' };
    const result = validateConfig({ doors: [spaDoor({}, { fleet: true })], fleet }, { baseDir: dir });
    expect(result.ok ? result.config.fleet?.doors : result.errors).toEqual(['spa']);
    expect(errors(spaDoor({}, { fleet: true }))).toEqual([
      'doors[0].fleet: expected a top-level "fleet" block (servers, group, keyFile) for a fleet door, got none',
    ]);
  });

  test('check-config warns when a fleet SPA door’s packets may outlive their entries in the group’s bucket', () => {
    const fleet = { servers: ['nats://198.51.100.1:4222'], group: 'bastions', keyFile: 'fleet.key', host: 'b1' };
    const warnings = (maxAge: string) => {
      const result = validateConfig({ doors: [spaDoor({ maxAge }, { fleet: true })], fleet }, { baseDir: dir });
      return result.ok ? checkConfigWarnings(result.config) : result.errors;
    };
    expect(warnings('120s')).toEqual([]);
    expect(warnings('1d')).toEqual([
      "doors[0].spa.maxAge: a packet may stay fresh for 2 × maxAge (2d) but the fleet's bucket keeps used packets for limits.maxOpenFor + 1h (25h); a member that joins later may miss older ones (lower maxAge or raise limits.maxOpenFor)",
    ]);
  });

  test('several SPA doors may share a port', () => {
    expect(errors(spaDoor(), { ...spaDoor(), name: 'spa2', open: ['tcp:2222'] })).toEqual([]);
  });
});
