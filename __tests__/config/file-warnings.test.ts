import { describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkKeyFiles, checkLogFile, keyFilesOf, serviceUserIn } from '../../src/config/file-warnings.js';
import { validateConfig } from '../../src/config/load-config.js';
import { recorded } from '../spa/spa-fixtures.js';
import type { Config } from '../../src/config/types.js';

const service = { name: 'knocktail', uid: 998 };
const key = [{ path: 'fleet.keyFile', file: '/etc/knocktail/fleet.key' }];

describe('key files', () => {
  test('every secret a config reads from a file is checked: time-based secrets and SPA keys too, by JSON path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kt-keys-'));
    try {
      await writeFile(join(dir, 'lab.secret'), 'a'.repeat(40));
      await writeFile(join(dir, 'spa.key'), recorded.key);
      await writeFile(join(dir, 'spa-hmac.key'), recorded.hmacKey);
      const checked = validateConfig(
        {
          doors: [
            { name: 'lab', timeBased: { secretFile: 'lab.secret', length: 3 }, open: ['tcp:22'] },
            { name: 'spa', spa: { keyFile: 'spa.key', hmacKeyFile: 'spa-hmac.key' }, open: ['tcp:22'], openFor: '30s' },
          ],
        },
        { baseDir: dir },
      );
      if (!checked.ok) throw new Error(checked.errors.join('\n'));
      expect(keyFilesOf(checked.config)).toEqual([
        { path: 'doors[0].timeBased.secretFile', file: join(dir, 'lab.secret') },
        { path: 'doors[1].spa.keyFile', file: join(dir, 'spa.key') },
        { path: 'doors[1].spa.hmacKeyFile', file: join(dir, 'spa-hmac.key') },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('owned by the service user with mode 0600 or 0400: nothing to say', () => {
    expect(checkKeyFiles(key, () => ({ uid: 998, mode: 0o100600 }), service)).toEqual([]);
    expect(checkKeyFiles(key, () => ({ uid: 998, mode: 0o100400 }), service)).toEqual([]);
  });

  test('root-owned 0600, as an older docs/fleet.md said: the daemon cannot read it, and the warning says which owner and mode', () => {
    expect(checkKeyFiles(key, () => ({ uid: 0, mode: 0o100600 }), service)).toEqual([
      'fleet.keyFile: /etc/knocktail/fleet.key is owned by uid 0, not by knocktail (uid 998) whom the daemon runs as; a key must be readable by knocktail and nobody else: chown knocktail:knocktail /etc/knocktail/fleet.key && chmod 600 /etc/knocktail/fleet.key',
    ]);
  });

  test('readable by others, without a service user on this host: the mode is still wrong', () => {
    expect(checkKeyFiles(key, () => ({ uid: 1000, mode: 0o100640 }), undefined)).toEqual([
      'fleet.keyFile: /etc/knocktail/fleet.key is open to its group (mode 0640); a key must be readable by the user the daemon runs as and nobody else: chmod 600 /etc/knocktail/fleet.key, owned by the user the daemon runs as',
    ]);
  });

  test('a file that cannot be looked at is left to the loader', () => {
    expect(checkKeyFiles(key, () => undefined, service)).toEqual([]);
  });

  test('the service user comes from its passwd line', () => {
    expect(
      serviceUserIn('root:x:0:0:root:/root:/bin/bash\nknocktail:x:998:998::/var/lib/knocktail:/usr/sbin/nologin\n'),
    ).toEqual(service);
    expect(serviceUserIn('root:x:0:0:root:/root:/bin/bash\n')).toBeUndefined();
  });
});

describe('the knock log', () => {
  const config = (logFile: string, source: 'file' | 'kmsg' | 'nflog' = 'file') => ({ logFile, source }) as Config;

  test.each(['/var/log/kern.log', '/var/log/syslog', '/var/log/messages', '/var/log/syslog.1'])(
    '%s is a general syslog file: a warning',
    (file) => {
      expect(checkLogFile(config(file))).toEqual([
        expect.stringMatching(new RegExp(`^logFile: ${file.replace(/\./g, '\\.')} is a general syslog file`)),
      ]);
    },
  );

  test('with the NFLOG source a general syslog file breaks the trust rule (ulogd its only writer): a warning that says so', () => {
    expect(checkLogFile(config('/var/log/syslog', 'nflog'))).toEqual([
      expect.stringMatching(
        /^logFile: \/var\/log\/syslog is a general syslog file .*"source": "nflog".*ulogd2 a file of its own/,
      ),
    ]);
    expect(checkLogFile(config('/var/log/knocktail/knocks.log', 'nflog'))).toEqual([]);
  });

  test("the drop-in's own knock log, or the kmsg source, say nothing", () => {
    expect(checkLogFile(config('/var/log/knocktail/knocks.log'))).toEqual([]);
    expect(checkLogFile(config('/var/log/kern.log', 'kmsg'))).toEqual([]);
  });
});
