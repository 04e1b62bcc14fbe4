import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importFwknoprc } from '../../src/import/fwknoprc.js';
import { openSpaPacket } from '../../src/spa/spa-packet.js';
import { runCliCaptured } from '../cli/run-cli.js';
import { recorded, recordedKeys } from '../spa/spa-fixtures.js';

// ~/.fwknoprc → SPA client profiles: each [name] stanza (under [default]) that fwknop sends as
// Rijndael + HMAC-SHA256 over UDP becomes the profile `name`; the rest is reported with why.
const KEY = recorded.key;
const HMAC = recorded.hmacKey;

const fwknoprc = (port: number) => `
[default]
USE_HMAC            Y
FW_TIMEOUT          45

[office]
SPA_SERVER          127.0.0.1
SPA_SERVER_PORT     ${port}
ACCESS              tcp/22,udp/53
ALLOW_IP            source
KEY_BASE64          ${KEY}
HMAC_KEY_BASE64     ${HMAC}
VERBOSE             Y

[lab box]
SPA_SERVER          203.0.113.5
ACCESS              tcp/2222
ALLOW_IP            198.51.100.2
KEY_BASE64          ${KEY}
HMAC_KEY_BASE64     ${HMAC}
FW_TIMEOUT          20

[home]
SPA_SERVER          198.51.100.9
ALLOW_IP            resolve
RESOLVE_IP_HTTPS    Y
KEY_BASE64          ${KEY}
HMAC_KEY_BASE64     ${HMAC}

[passphrase]
SPA_SERVER          198.51.100.10
KEY                 hunter2

[gpg]
SPA_SERVER          198.51.100.11
USE_GPG             Y
KEY_BASE64          ${KEY}
HMAC_KEY_BASE64     ${HMAC}

[nohmac]
SPA_SERVER          198.51.100.12
USE_HMAC            N
KEY_BASE64          ${KEY}

[nat]
SPA_SERVER          198.51.100.13
NAT_ACCESS          192.168.1.2,22
KEY_BASE64          ${KEY}
HMAC_KEY_BASE64     ${HMAC}
`;

describe('importFwknoprc', () => {
  const result = importFwknoprc(fwknoprc(62202));

  test('SPA_SERVER, SPA_SERVER_PORT, ACCESS, ALLOW_IP and FW_TIMEOUT (with [default] under each stanza) become SPA profiles', () => {
    expect(result.profiles).toEqual({
      office: {
        host: '127.0.0.1',
        spa: { port: 62202, keyFile: 'office.key', hmacKeyFile: 'office-hmac.key' },
        access: ['tcp/22', 'udp/53'],
        fwTimeout: 45,
      },
      'lab box': {
        host: '203.0.113.5',
        spa: { keyFile: 'lab_box.key', hmacKeyFile: 'lab_box-hmac.key' },
        access: ['tcp/2222'],
        allow: '198.51.100.2',
        fwTimeout: 20,
      },
      home: {
        host: '198.51.100.9',
        spa: { keyFile: 'home.key', hmacKeyFile: 'home-hmac.key' },
        fwTimeout: 45,
      },
    });
    expect(result.keys.get('lab_box')).toEqual({ key: KEY, hmacKey: HMAC });
  });

  test('what cannot be converted is reported with why: GPG, a KEY passphrase, no HMAC, NAT, RESOLVE_IP_HTTPS', () => {
    expect(result.notes.map((note) => `${note.kind} ${note.where}: ${note.message}`)).toEqual([
      'ignored [office] line 13: VERBOSE is not converted',
      expect.stringMatching(
        /^changed \[home\]: ALLOW_IP resolve: the profile asks for the address the packet comes from/,
      ),
      'ignored [home] line 26: RESOLVE_IP_HTTPS is not converted',
      'skipped [passphrase]: no KEY_BASE64 (a KEY passphrase): knocktail reads base64 Rijndael keys only',
      'skipped [gpg]: USE_GPG Y: knocktail sends Rijndael (CBC) + HMAC-SHA256 over UDP only',
      'skipped [nohmac]: no HMAC (USE_HMAC Y and HMAC_KEY_BASE64): knocktail sends HMAC-authenticated packets only',
      "skipped [nat]: NAT_ACCESS: knocktail's client sends access requests only",
    ]);
  });
});

describe('knocktail import fwknoprc', () => {
  let dir: string;
  let udp: Socket;
  let packets: Buffer[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ktdt-fwknoprc-'));
    packets = [];
    udp = createSocket('udp4');
    udp.on('message', (message) => packets.push(message));
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()));
  });
  afterEach(async () => {
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  test('writes client.json and the keys beside it (0600), lists what it dropped, exits 2; the profile then knocks', async () => {
    await writeFile(join(dir, 'fwknoprc'), fwknoprc(udp.address().port));
    const output = join(dir, 'client.json');
    const run = await runCliCaptured(['import', 'fwknoprc', join(dir, 'fwknoprc'), '-o', output]);
    expect(run.stderr).toContain('not converted:\n  [passphrase]: no KEY_BASE64 (a KEY passphrase)');
    expect(run.stderr).toContain(
      `knocktail: converted 3 SPA client profile(s) (office, lab box, home) from ${join(dir, 'fwknoprc')} to ${output}`,
    );
    expect(run.stderr).toContain('knocktail: 4 ~/.fwknoprc stanzas not converted');
    expect(run.code).toBe(2);
    expect((await readFile(join(dir, 'office-hmac.key'), 'utf8')).trim()).toBe(HMAC);
    expect((await stat(join(dir, 'office.key'))).mode & 0o777).toBe(0o600);
    expect((await stat(output)).mode & 0o777).toBe(0o600);

    const knock = await runCliCaptured(['knock', 'office', '--profiles', output]);
    expect(knock.code).toBe(0);
    for (let i = 0; i < 100 && packets.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const opened = openSpaPacket(packets[0]!, [{ keys: recordedKeys }]);
    expect(opened.kind === 'opened' && opened.fields).toMatchObject({
      message: '0.0.0.0,tcp/22,udp/53',
      clientTimeout: 45,
    });
  });

  test('without -o it is a usage error; existing key files are never overwritten', async () => {
    await writeFile(join(dir, 'fwknoprc'), fwknoprc(62201));
    const noOutput = await runCliCaptured(['import', 'fwknoprc', join(dir, 'fwknoprc')]);
    expect(noOutput.code).toBe(2);
    expect(noOutput.stderr).toContain(
      "Expected -o FILE with import fwknoprc: the profiles' keys are written to files beside it",
    );
    await writeFile(join(dir, 'home.key'), 'mine\n');
    const taken = await runCliCaptured(['import', 'fwknoprc', join(dir, 'fwknoprc'), '-o', join(dir, 'client.json')]);
    expect(taken.code).not.toBe(0);
    expect(await readFile(join(dir, 'home.key'), 'utf8')).toBe('mine\n');
    await expect(stat(join(dir, 'office.key'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(join(dir, 'client.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
