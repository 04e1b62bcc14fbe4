import { describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSpaPacket, readSpaKeyFiles, spaFields } from '../../src/client/spa-request.js';
import { openSpaPacket } from '../../src/spa/spa-packet.js';
import { recorded, recordedKeys } from './spa-fixtures.js';

const NOW = 1_800_000_000_123;

describe('knock --spa: the packet', () => {
  test('an access request for "the address it comes from", as fwknop -s -A tcp/22 sends it', () => {
    const fields = spaFields({ access: 'tcp/22', allow: '0.0.0.0', user: 'alice', now: NOW });
    expect(fields).toMatchObject({
      user: 'alice',
      timestamp: 1_800_000_000,
      version: '3.0.0',
      type: 1,
      message: '0.0.0.0,tcp/22',
    });
    expect(fields.random).toMatch(/^[1-9][0-9]{15}$/);
    expect(fields.clientTimeout).toBeUndefined();
  });

  test('a timeout makes it a client-timeout request (type 3), as fwknop -f does', () => {
    expect(
      spaFields({ access: 'tcp/22,udp/53', allow: '198.51.100.2', user: 'bob', timeout: 45, now: NOW }),
    ).toMatchObject({ type: 3, clientTimeout: 45, message: '198.51.100.2,tcp/22,udp/53' });
  });

  test('the sealed packet opens with the door’s keys, read from files written like fwknop --key-gen output', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kt-spa-client-'));
    try {
      await writeFile(join(dir, 'key'), `KEY_BASE64: ${recorded.key}\n`);
      await writeFile(join(dir, 'hmac'), `HMAC_KEY_BASE64: ${recorded.hmacKey}\n`);
      await writeFile(join(dir, 'bad'), 'secret\n');
      const keys = readSpaKeyFiles(join(dir, 'key'), join(dir, 'hmac'));
      const packet = buildSpaPacket({ access: 'tcp/22', allow: '0.0.0.0', user: 'alice', now: NOW }, keys);
      const opened = openSpaPacket(packet, [{ keys: recordedKeys }]);
      expect(opened.kind === 'opened' && opened.fields.message).toBe('0.0.0.0,tcp/22');
      expect(() => readSpaKeyFiles(join(dir, 'bad'), join(dir, 'hmac'))).toThrow(
        /expected at least 16 bytes once decoded/,
      );
      expect(() => readSpaKeyFiles(join(dir, 'missing'), join(dir, 'hmac'))).toThrow(
        /^--key-file: cannot read the key from ".*missing": ENOENT/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
