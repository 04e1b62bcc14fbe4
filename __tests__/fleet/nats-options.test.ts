import { describe, expect, test } from '@jest/globals';
import type { FleetConfig } from '../../src/config/types.js';
import { natsConnectionOptions } from '../../src/fleet/nats-transport.js';

const base: FleetConfig = {
  servers: ['nats://198.51.100.1:4222'],
  group: 'bastions',
  host: 'b1',
  auth: { kind: 'none' },
  key: 'k'.repeat(40),
  keyFile: '/k',
  maxClockSkew: 2000,
  heartbeatInterval: 5000,
  replicas: 3,
  auditRetention: 86_400_000,
  doors: ['ssh'],
};

describe('NATS connection options from the fleet config', () => {
  test('reconnect forever, notice a dead connection within seconds, no TLS for nats:// without a tls block', async () => {
    const options = await natsConnectionOptions(base, 'knocktail bastions/b1', 5000);
    expect(options).toMatchObject({
      servers: ['nats://198.51.100.1:4222'],
      name: 'knocktail bastions/b1',
      maxReconnectAttempts: -1,
      pingInterval: 2000,
      maxPingOut: 2,
    });
    expect(options.tls).toBeUndefined();
  });

  test('tls:// servers or a tls block turn TLS on with the CA, client certificate and server name', async () => {
    expect(
      (await natsConnectionOptions({ ...base, servers: ['tls://nats1.example.net:4222'] }, 'n', 5000)).tls,
    ).toEqual({});
    const options = await natsConnectionOptions(
      { ...base, tls: { ca: '/etc/ca.pem', cert: '/etc/c.pem', key: '/etc/c.key', serverName: 'nats.example.net' } },
      'n',
      5000,
    );
    expect(options.tls).toEqual({
      caFile: '/etc/ca.pem',
      certFile: '/etc/c.pem',
      keyFile: '/etc/c.key',
      servername: 'nats.example.net',
    });
  });

  test('user/password and token map to the client options', async () => {
    expect(
      await natsConnectionOptions({ ...base, auth: { kind: 'user', user: 'b1', password: 'pw' } }, 'n', 5000),
    ).toMatchObject({ user: 'b1', pass: 'pw' });
    expect(await natsConnectionOptions({ ...base, auth: { kind: 'token', token: 't0k' } }, 'n', 5000)).toMatchObject({
      token: 't0k',
    });
  });

  test('an unreadable credentials file is a clear error naming the file', async () => {
    await expect(
      natsConnectionOptions({ ...base, auth: { kind: 'credentials', file: '/nonexistent/b1.creds' } }, 'n', 5000),
    ).rejects.toMatchObject({
      code: 'CONFIG_UNREADABLE',
      message: expect.stringMatching(/^cannot read the NATS credentials \/nonexistent\/b1\.creds: /),
    });
  });
});
