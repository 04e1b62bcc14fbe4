import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSpaKeys, type SpaKeys } from '../../src/spa/spa-keys.js';
import { openSpaPacket } from '../../src/spa/spa-packet.js';
import { runCliCaptured } from '../cli/run-cli.js';
import { recorded, recordedKeys } from '../spa/spa-fixtures.js';

// `knocktail knock PROFILE` with an SPA profile, end to end on loopback: the datagram that
// arrives is opened with knocktail's own SPA decoder, and says what the profile (or the flags
// over it) asked for.
let udp: Socket;
let udpPort: number;
let packets: Buffer[];
let dir: string;
let env: Record<string, string>;

async function writeProfiles(profiles: unknown): Promise<void> {
  await mkdir(join(dir, 'xdg', 'knocktail'), { recursive: true });
  await writeFile(join(dir, 'xdg', 'knocktail', 'client.json'), JSON.stringify({ profiles }), { mode: 0o600 });
}

async function onePacket(): Promise<Buffer> {
  for (let i = 0; i < 100 && packets.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(packets).toHaveLength(1);
  return packets[0]!;
}

/** The fields of a packet, opened as an SPA door with these keys opens it. */
function opened(packet: Buffer, keys: SpaKeys): { type: number; message: string; clientTimeout?: number } {
  const result = openSpaPacket(packet, [{ keys }]);
  if (result.kind !== 'opened') throw new Error(`the packet did not open: ${result.kind}`);
  const { type, message, clientTimeout } = result.fields;
  return { type, message, ...(clientTimeout === undefined ? {} : { clientTimeout }) };
}

const office = (port: number) => ({
  host: '127.0.0.1',
  spa: { port, keyFile: 'keys/spa.key', hmacKeyFile: 'keys/spa-hmac.key' },
  access: ['tcp/22', 'udp/53'],
  fwTimeout: 45,
});

beforeEach(async () => {
  packets = [];
  udp = createSocket('udp4');
  udp.on('message', (message) => packets.push(message));
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()));
  udpPort = udp.address().port;
  dir = await mkdtemp(join(tmpdir(), 'ktdt-knock-spa-profile-'));
  env = { XDG_CONFIG_HOME: join(dir, 'xdg'), HOME: join(dir, 'home') };
  // Relative key files are found beside client.json.
  await mkdir(join(dir, 'xdg', 'knocktail', 'keys'), { recursive: true });
  await writeFile(join(dir, 'xdg', 'knocktail', 'keys', 'spa.key'), `KEY_BASE64: ${recorded.key}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'xdg', 'knocktail', 'keys', 'spa-hmac.key'), `${recorded.hmacKey}\n`, { mode: 0o600 });
});

afterEach(async () => {
  await new Promise<void>((resolve) => udp.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

describe('knocktail knock with an SPA profile', () => {
  test('the profile name sends one SPA packet that opens with the door keys and asks what the profile says', async () => {
    await writeProfiles({ office: office(udpPort) });
    const run = await runCliCaptured(['knock', 'office'], { env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      `sent an SPA packet (tcp/22,udp/53 for the address it comes from) to 127.0.0.1 udp/${udpPort}\n`,
    );
    expect(opened(await onePacket(), recordedKeys)).toEqual({
      type: 3,
      message: '0.0.0.0,tcp/22,udp/53',
      clientTimeout: 45,
    });
  });

  test('flags win over the profile: --spa-port, --access, --allow, --fw-timeout and one key file', async () => {
    const otherHmac = randomBytes(64).toString('base64');
    await writeFile(join(dir, 'other-hmac.key'), `HMAC_KEY_BASE64: ${otherHmac}\n`, { mode: 0o600 });
    // The profile's port has no listener: only --spa-port gets the packet here.
    await writeProfiles({ office: { ...office(9), allow: '198.51.100.7' } });
    const run = await runCliCaptured(
      [
        'knock',
        'office',
        '--spa-port',
        String(udpPort),
        '--access',
        'tcp/2222',
        '--allow',
        '203.0.113.9',
        '--fw-timeout',
        '20',
        '--hmac-key-file',
        join(dir, 'other-hmac.key'),
      ],
      { env },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const packet = await onePacket();
    expect(openSpaPacket(packet, [{ keys: recordedKeys }]).kind).not.toBe('opened');
    expect(opened(packet, decodeSpaKeys(recorded.key, otherHmac))).toEqual({
      type: 3,
      message: '203.0.113.9,tcp/2222',
      clientTimeout: 20,
    });
  });

  test('--spa takes a profile name too; a knock profile with --spa, or --close with an SPA profile, is refused', async () => {
    await writeProfiles({ office: office(udpPort), lab: { host: '127.0.0.1', steps: ['udp:9'] } });
    const spa = await runCliCaptured(['knock', 'office', '--spa'], { env });
    expect(spa.code).toBe(0);
    expect(opened(await onePacket(), recordedKeys).message).toBe('0.0.0.0,tcp/22,udp/53');
    const knockProfile = await runCliCaptured(['knock', 'lab', '--spa'], { env });
    expect(knockProfile.code).toBe(2);
    expect(knockProfile.stderr).toBe(
      'knocktail: Expected --spa with an SPA profile (one with "spa"), got "lab", a knock profile\n',
    );
    const close = await runCliCaptured(['knock', 'office', '--close'], { env });
    expect(close.code).toBe(2);
    expect(close.stderr).toContain('Expected no --close with --spa or an SPA profile');
  });

  test("an SPA profile's verify port is checked after the packet; --connect carries a connection with messages on stderr", async () => {
    const echo = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
    try {
      const { port: tcpPort } = echo.address() as AddressInfo;
      await writeProfiles({ office: { ...office(udpPort), verify: tcpPort } });
      const verified = await runCliCaptured(['knock', 'office'], { env });
      expect(verified.code).toBe(0);
      expect(verified.stdout).toMatch(
        new RegExp(
          `\\nverified: tcp:${tcpPort} on 127\\.0\\.0\\.1 accepted a connection [\\d.]+ s after the last knock`,
        ),
      );
      const connected = await runCliCaptured(['knock', 'office', '--connect', `127.0.0.1:${tcpPort}`], {
        env,
        stdin: 'SSH-2.0-client\r\n',
      });
      expect(connected).toEqual({
        code: 0,
        stdout: 'SSH-2.0-client\r\n',
        stderr: `sent an SPA packet (tcp/22,udp/53 for the address it comes from) to 127.0.0.1 udp/${udpPort}\n`,
      });
      expect(packets).toHaveLength(2);
    } finally {
      await new Promise((resolve) => echo.close(resolve));
    }
  });

  test('--spa without keys and without a profile of that name says what it expected', async () => {
    await writeProfiles({ office: office(udpPort) });
    const run = await runCliCaptured(['knock', '127.0.0.1', '--spa'], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'knocktail: Expected --key-file and --hmac-key-file (KEY_BASE64 and HMAC_KEY_BASE64, as `fwknop --key-gen` prints them), --door NAME of an SPA door, or the name of an SPA client profile; got "127.0.0.1", which is not a profile of',
    );
    expect(packets).toHaveLength(0);
  });
});
