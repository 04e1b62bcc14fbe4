import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load-config.js';
import { defaultMemberName, readMachineId } from '../../src/config/to-config.js';

let dir: string;
const KEY = 'k'.repeat(48);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'knocktail-fleet-config-'));
  await writeFile(join(dir, 'fleet.key'), `${KEY}\n`);
  await writeFile(join(dir, 'short.key'), 'too-short\n');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const door = (fields: Record<string, unknown> = {}) => ({ name: 'ssh', sequence: ['tcp:7000'], ...fields });
const fleet = (fields: Record<string, unknown> = {}) => ({
  servers: ['nats://198.51.100.1:4222'],
  group: 'bastions',
  keyFile: 'fleet.key',
  ...fields,
});

function errorsOf(raw: unknown): string[] {
  const result = validateConfig(raw, { baseDir: dir });
  if (result.ok) throw new Error('expected the config to be refused');
  return result.errors;
}

function configOf(raw: unknown) {
  const result = validateConfig(raw, { baseDir: dir });
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.errors.join('\n')}`);
  return result.config;
}

describe('a valid fleet block', () => {
  test('fills its defaults, reads the key relative to the config and lists the fleet doors', () => {
    const config = configOf({
      doors: [door({ fleet: true }), door({ name: 'local', sequence: ['tcp:7100'] })],
      fleet: fleet({ host: 'b1' }),
    });
    expect(config.fleet).toEqual({
      servers: ['nats://198.51.100.1:4222'],
      group: 'bastions',
      host: 'b1',
      auth: { kind: 'none' },
      key: KEY,
      keyFile: join(dir, 'fleet.key'),
      maxClockSkew: 2000,
      heartbeatInterval: 5000,
      replicas: 1,
      auditRetention: 90 * 86_400_000,
      doors: ['ssh'],
    });
  });

  test('a config without a fleet block has no fleet', () => {
    expect(configOf({ doors: [door()] }).fleet).toBeUndefined();
  });

  test('credentials, user/password, token and tls files become typed options with resolved paths', () => {
    expect(configOf({ doors: [door()], fleet: fleet({ credentials: 'b1.creds' }) }).fleet?.auth).toEqual({
      kind: 'credentials',
      file: join(dir, 'b1.creds'),
    });
    expect(configOf({ doors: [door()], fleet: fleet({ user: 'b1', password: 'pw' }) }).fleet?.auth).toEqual({
      kind: 'user',
      user: 'b1',
      password: 'pw',
    });
    expect(configOf({ doors: [door()], fleet: fleet({ token: 't0k' }) }).fleet?.auth).toEqual({
      kind: 'token',
      token: 't0k',
    });
    expect(
      configOf({ doors: [door()], fleet: fleet({ tls: { ca: 'ca.pem', serverName: 'nats.example.net' } }) }).fleet?.tls,
    ).toEqual({ ca: join(dir, 'ca.pem'), serverName: 'nats.example.net' });
  });

  test('the default member name is the whole host name plus the machine id, so host names that share a first label or a clone stay apart', () => {
    expect(defaultMemberName('a.eu.example.net', () => '3d1219c7')).toBe('a-eu-example-net-3d1219c7');
    expect(defaultMemberName('a.us.example.net', () => '3d1219c7')).not.toBe(
      defaultMemberName('a.eu.example.net', () => '3d1219c7'),
    );
    expect(defaultMemberName('bastion', () => '3d1219c7')).not.toBe(defaultMemberName('bastion', () => '9a0b1c2d'));
    expect(defaultMemberName('bastion 1.example.net', () => undefined)).toBe('bastion-1-example-net');
    expect(defaultMemberName('...', () => undefined)).toBe('knocktail');
    expect(defaultMemberName('x'.repeat(80), () => '3d1219c7')).toBe(`${'x'.repeat(54)}-3d1219c7`);
  });

  test('the machine id is the first 8 hex digits of the first machine-id file that holds one', () => {
    const bad = join(dir, 'machine-id-bad');
    const good = join(dir, 'machine-id');
    writeFileSync(bad, 'uninitialized\n');
    writeFileSync(good, '3d1219c7c4c5404aaa1f6d2a48adfda4\n');
    expect(readMachineId([join(dir, 'absent'), bad, good])).toBe('3d1219c7');
    expect(readMachineId([bad])).toBeUndefined();
  });
});

describe('fleet problems name their path', () => {
  test('a fleet door without a fleet block', () => {
    expect(errorsOf({ doors: [door({ fleet: true })] })).toEqual([
      'doors[0].fleet: expected a top-level "fleet" block (servers, group, keyFile) for a fleet door, got none',
    ]);
  });

  test('missing keys, bad server URLs, group and host names', () => {
    expect(
      errorsOf({ doors: [door()], fleet: { servers: ['198.51.100.1'], group: 'Bad Group', host: 'b.1' } }),
    ).toEqual([
      'fleet.keyFile: missing; this key is required',
      'fleet.servers[0]: expected a NATS server URL like "tls://nats1.example.net:4222" (nats:// or tls://, a host and a port 1-65535), got `"198.51.100.1"` (string)',
      'fleet.group: expected a group name of 1-32 lowercase letters, digits, "_" or "-", starting with a letter or digit, got `"Bad Group"` (string)',
      'fleet.host: expected a host name of 1-63 letters, digits, "_" or "-", starting with a letter or digit, got `"b.1"` (string)',
    ]);
  });

  test('two ways to authenticate, a user without password and a certificate without key', () => {
    expect(errorsOf({ doors: [door()], fleet: fleet({ token: 't', user: 'u', tls: { cert: 'c.pem' } }) })).toEqual([
      'fleet: expected at most one of credentials, user/password or token, got user and token',
      'fleet.password: missing; user and password go together',
      'fleet.tls.key: missing; a client certificate needs its key (and the key its certificate)',
    ]);
  });

  test('a password of the wrong type is not echoed', () => {
    expect(errorsOf({ doors: [door()], fleet: fleet({ user: 'u', password: 12345 }) })).toEqual([
      'fleet.password: expected a string, got a hidden value',
    ]);
  });

  test('timings below their minimum', () => {
    expect(
      errorsOf({
        doors: [door()],
        fleet: fleet({ maxClockSkew: '1ms', heartbeatInterval: '100ms', auditRetention: '10s' }),
      }),
    ).toEqual([
      'fleet.maxClockSkew: expected a duration of at least 10ms, got "1ms"',
      'fleet.heartbeatInterval: expected a duration of at least 1s, got "100ms"',
      'fleet.auditRetention: expected a duration of at least 1m, got "10s"',
    ]);
  });

  test('a missing or short group key', () => {
    expect(errorsOf({ doors: [door()], fleet: fleet({ keyFile: 'none.key' }) })).toEqual([
      `fleet.keyFile: cannot read the group key from ${JSON.stringify(join(dir, 'none.key'))}: ENOENT (no such file or directory)`,
    ]);
    expect(errorsOf({ doors: [door()], fleet: fleet({ keyFile: 'short.key' }) })).toEqual([
      `fleet.keyFile: expected a group key of at least 32 characters in ${JSON.stringify(join(dir, 'short.key'))} (e.g. \`openssl rand -base64 48\`), got 9`,
    ]);
  });

  test("a door's fleet flag must be a boolean", () => {
    expect(errorsOf({ doors: [door({ fleet: 'yes' })], fleet: fleet() })).toEqual([
      'doors[0].fleet: expected true or false, got `"yes"` (string)',
    ]);
  });
});
