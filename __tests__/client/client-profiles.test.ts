import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  clientConfigPath,
  loadClientProfiles,
  looseModeWarning,
  validateClientProfiles,
} from '../../src/client/client-profiles.js';
import { recorded, recordedKeys } from '../spa/spa-fixtures.js';

// ~/.config/knocktail/client.json: validated against the shipped client schema, every problem
// with its JSON path, and a time-based profile's secret read from its own file.
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktdt-profiles-'));
  await writeFile(join(dir, 'work.secret'), '  s3cret\n');
  await chmod(join(dir, 'work.secret'), 0o600);
  await mkdir(join(dir, 'home', 'keys'), { recursive: true });
  await writeFile(join(dir, 'home', 'keys', 'lab.secret'), 'lab-secret');
  await writeFile(join(dir, 'spa.key'), `KEY_BASE64: ${recorded.key}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'home', 'keys', 'spa-hmac.key'), `${recorded.hmacKey}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'short.key'), 'YWJj\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const validate = (raw: unknown) => validateClientProfiles(raw, { baseDir: dir, home: join(dir, 'home') });

describe('clientConfigPath', () => {
  test('XDG_CONFIG_HOME wins over HOME; without either there is none', () => {
    expect(clientConfigPath({ XDG_CONFIG_HOME: '/x', HOME: '/home/a' })).toBe('/x/knocktail/client.json');
    expect(clientConfigPath({ HOME: '/home/a' })).toBe('/home/a/.config/knocktail/client.json');
    expect(clientConfigPath({})).toBeUndefined();
  });
});

describe('validateClientProfiles', () => {
  test('a steps profile gets its defaults; a time-based one reads its secret (relative to the file, or ~/)', () => {
    const result = validate({
      profiles: {
        web: {
          host: 'server.example.org',
          steps: ['tcp:7000', 'udp:8000'],
          closeSteps: ['tcp:9001'],
          family: 6,
          verify: 22,
        },
        tb: {
          host: '203.0.113.5',
          timeBased: { secretFile: 'work.secret', length: 4, period: '1m', portRange: [40000, 40999], proto: 'udp' },
        },
        lab: { host: '198.51.100.7', timeBased: { secretFile: '~/keys/lab.secret' } },
      },
    });
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.profiles.get('web')).toEqual({
      kind: 'knock',
      name: 'web',
      host: 'server.example.org',
      family: 6,
      steps: [
        { proto: 'tcp', port: 7000 },
        { proto: 'udp', port: 8000 },
      ],
      closeSteps: [{ proto: 'tcp', port: 9001 }],
      delayMs: 100,
      verify: 22,
    });
    expect(result.profiles.get('tb')).toMatchObject({
      timeBased: {
        secret: 's3cret',
        length: 4,
        period: 60_000,
        portRange: [40000, 40999],
        proto: 'udp',
      },
    });
    expect(result.profiles.get('lab')).toMatchObject({
      timeBased: {
        secret: 'lab-secret',
        length: 3,
        period: 30_000,
        portRange: [10000, 60000],
        proto: 'tcp',
      },
    });
  });

  test('schema problems are all reported with their JSON paths and what was expected', () => {
    const result = validate({
      profiles: { web: { host: '', steps: ['tcp:70000'], famly: 4, family: 5, verify: 0, delay: 'soon' } },
      extra: 1,
    });
    expect(result.ok ? [] : result.errors).toEqual([
      'extra: unknown key; valid keys: $schema, profiles',
      'profiles.web.famly: unknown key (did you mean "family"?); valid keys: host, family, steps, closeSteps, timeBased, delay, verify, spa, access, allow, fwTimeout',
      'profiles.web.host: expected at least 1 character, got `""` (string)',
      'profiles.web.family: expected one of 4, 6, null, got `5` (number)',
      'profiles.web.steps[0]: expected a knock step like "tcp:7000", "udp:8000" or "icmp" (a port 1-65535), got `"tcp:70000"` (string)',
      'profiles.web.delay: expected a duration like "30s" (units ms, s, m, h, d), got `"soon"` (string)',
      'profiles.web.verify: expected a number ≥ 1, got `0` (number)',
    ]);
  });

  test('a profile needs steps or timeBased (not both), and a readable secret file', () => {
    const result = validate({
      profiles: {
        none: { host: 'a' },
        both: { host: 'b', steps: ['tcp:1'], timeBased: { secretFile: 'work.secret' } },
        lost: { host: 'c', timeBased: { secretFile: 'missing.secret', period: '10ms' } },
      },
    });
    expect(result.ok ? [] : result.errors).toEqual([
      'profiles.none: expected `steps`, `timeBased` or `spa`, got none',
      'profiles.both: expected either `steps` or `timeBased`, got both',
      'profiles.lost.timeBased.period: expected at least 1s, got "10ms"',
      `profiles.lost.timeBased.secretFile: cannot read the secret from ${JSON.stringify(join(dir, 'missing.secret'))}: ENOENT (no such file or directory)`,
    ]);
  });
});

describe('validateClientProfiles: SPA profiles', () => {
  test('an SPA profile reads its two key files as --key-file does (relative to the file, or ~/) and gets fwknop defaults', () => {
    const result = validate({
      profiles: {
        office: {
          host: 'server.example.net',
          family: 4,
          spa: { port: 62202, keyFile: 'spa.key', hmacKeyFile: '~/keys/spa-hmac.key' },
          access: ['tcp/22', 'udp/53'],
          allow: '198.51.100.2',
          fwTimeout: 45,
          verify: 22,
        },
        plain: { host: '203.0.113.5', spa: { keyFile: 'spa.key', hmacKeyFile: '~/keys/spa-hmac.key' } },
      },
    });
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.profiles.get('office')).toEqual({
      kind: 'spa',
      name: 'office',
      host: 'server.example.net',
      family: 4,
      port: 62202,
      keys: recordedKeys,
      keyFile: join(dir, 'spa.key'),
      hmacKeyFile: join(dir, 'home', 'keys', 'spa-hmac.key'),
      access: 'tcp/22,udp/53',
      allow: '198.51.100.2',
      fwTimeout: 45,
      verify: 22,
    });
    expect(result.profiles.get('plain')).toMatchObject({
      kind: 'spa',
      port: 62201,
      access: 'tcp/22',
      allow: '0.0.0.0',
    });
    expect(result.profiles.get('plain')).not.toHaveProperty('fwTimeout');
  });

  test('a profile with both SPA and knock keys, or SPA settings without `spa`, is refused with its path', () => {
    const result = validate({
      profiles: {
        mixed: {
          host: 'a',
          steps: ['tcp:7000'],
          delay: '0ms',
          verify: 22,
          spa: { keyFile: 'spa.key', hmacKeyFile: '~/keys/spa-hmac.key' },
        },
        stray: { host: 'b', steps: ['tcp:7000'], access: ['tcp/22'], fwTimeout: 30 },
        // null is "none of this kind": still a plain knock profile.
        nulls: { host: 'c', steps: ['tcp:7000'], spa: null, fwTimeout: null },
      },
    });
    expect(result.ok ? [] : result.errors).toEqual([
      'profiles.mixed: expected either an SPA profile (`spa`) or a knock profile (`steps`, `delay`), got both',
      'profiles.stray: expected `access`, `fwTimeout` only with `spa` (an SPA profile), got no `spa`',
    ]);
  });

  test('missing keys, a bad port, access, timeout or address, and unreadable or bad key files are all named by path', () => {
    const result = validate({
      profiles: {
        nokeys: { host: 'a', spa: { port: 62201 } },
        bad: {
          host: 'b',
          spa: { port: 70000, keyFile: 'missing.key', hmacKeyFile: 'short.key' },
          access: ['tcp:22'],
          fwTimeout: 0,
        },
      },
    });
    expect(result.ok ? [] : result.errors).toEqual([
      'profiles.nokeys.spa.keyFile: missing; this key is required',
      'profiles.nokeys.spa.hmacKeyFile: missing; this key is required',
      'profiles.bad.spa.port: expected a number ≤ 65535, got `70000` (number)',
      'profiles.bad.access[0]: expected fwknop\'s form of a port, like "tcp/22" or "udp/53" (a port 1-65535), got `"tcp:22"` (string)',
      'profiles.bad.fwTimeout: expected a number ≥ 1, got `0` (number)',
    ]);
    const files = validate({
      profiles: {
        bad: { host: 'b', spa: { keyFile: 'missing.key', hmacKeyFile: 'short.key' } },
        where: { host: 'c', spa: { keyFile: 'spa.key', hmacKeyFile: 'spa.key' }, allow: 'my-laptop' },
      },
    });
    expect(files.ok ? [] : files.errors).toEqual([
      `profiles.bad.spa.keyFile: cannot read the key from ${JSON.stringify(join(dir, 'missing.key'))}: ENOENT (no such file or directory)`,
      `profiles.bad.spa.hmacKeyFile: expected at least 16 bytes once decoded (128 bits; \`fwknop --key-gen\` makes 32 and 64), got 3 in ${JSON.stringify(join(dir, 'short.key'))}`,
      'profiles.where.allow: expected an IPv4 or IPv6 address (0.0.0.0: the one the packet comes from), got "my-laptop"',
    ]);
  });
});

describe('loadClientProfiles', () => {
  test('broken JSON names the line and column; a missing file is CONFIG_UNREADABLE with the cause kept', async () => {
    const path = join(dir, 'broken.json');
    await writeFile(path, '{\n  "profiles": {,\n}');
    await expect(loadClientProfiles(path)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: `${path}: not valid JSON at line 2, column 16`,
    });
    await expect(loadClientProfiles(join(dir, 'nope.json'))).rejects.toMatchObject({
      code: 'CONFIG_UNREADABLE',
      cause: expect.objectContaining({ code: 'ENOENT' }),
    });
  });
});

describe('looseModeWarning', () => {
  test('a file its group or others can read is named with its mode; 0600 is quiet', async () => {
    const file = join(dir, 'mode.secret');
    await writeFile(file, 'x', { mode: 0o600 });
    expect(looseModeWarning(file)).toBeUndefined();
    await chmod(file, 0o640);
    expect(looseModeWarning(file)).toBe(
      `${file} is readable by its group (mode 0640); it holds a knock or a secret: chmod 600 ${file}`,
    );
  });

  test('loadClientProfiles warns about the profile file and each time-based secret file', async () => {
    const path = join(dir, 'client.json');
    await writeFile(
      path,
      JSON.stringify({ profiles: { tb: { host: 'a', timeBased: { secretFile: 'loose.secret' } } } }),
      { mode: 0o600 },
    );
    await writeFile(join(dir, 'loose.secret'), 'x', { mode: 0o644 });
    await chmod(join(dir, 'loose.secret'), 0o644);
    const loaded = await loadClientProfiles(path);
    expect(loaded.warnings).toEqual([
      expect.stringContaining(`${join(dir, 'loose.secret')} is readable by everyone (mode 0644)`),
    ]);
    expect(loaded.profiles.get('tb')).toMatchObject({ secretFile: join(dir, 'loose.secret') });
  });
});
