import { describe, expect, test } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHostPortsReader } from '../../src/cli/host-ports-reader.js';

// The reader maps /proc paths to the captured samples; nothing on this machine is read.
const FIXTURES = join(process.cwd(), '__tests__', 'fixtures', 'proc-net');
const SAMPLES: Record<string, string> = {
  '/proc/net/tcp': 'tcp',
  '/proc/net/tcp6': 'tcp6',
  '/proc/net/udp': 'udp',
  '/proc/net/udp6': 'udp6',
  '/proc/sys/net/ipv4/ip_local_port_range': 'ip_local_port_range',
};

function fromSamples(missing: readonly string[] = []) {
  const asked: string[] = [];
  const readText = async (path: string): Promise<string> => {
    asked.push(path);
    const name = SAMPLES[path];
    if (!name || missing.includes(path)) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return readFile(join(FIXTURES, name), 'utf8');
  };
  return { reader: createHostPortsReader({ readText }), asked };
}

describe('createHostPortsReader', () => {
  test('reads the four socket tables and the ephemeral range from /proc', async () => {
    const { reader, asked } = fromSamples();
    const ports = await reader.read();
    expect(asked).toEqual(Object.keys(SAMPLES));
    expect(ports.ephemeral).toEqual([32768, 60999]);
    expect(ports.listening.map((s) => `${s.proto}${s.family === 6 ? '6' : ''}:${s.port}`)).toEqual([
      'tcp:8080',
      'tcp:31337',
      'tcp:5432',
      'tcp6:22',
      'tcp6:8443',
      'udp:53',
      'udp6:5353',
    ]);
  });

  test('a table that cannot be read (no IPv6) counts as empty, an unreadable range as unknown', async () => {
    const { reader } = fromSamples(['/proc/net/tcp6', '/proc/net/udp6', '/proc/sys/net/ipv4/ip_local_port_range']);
    const ports = await reader.read();
    expect(ports.ephemeral).toBeUndefined();
    expect(ports.listening.every((s) => s.family === 4)).toBe(true);
  });

  test('procRoot moves every path', async () => {
    const asked: string[] = [];
    await createHostPortsReader({
      procRoot: '/srv/proc',
      readText: (path) => (asked.push(path), Promise.resolve('')),
    }).read();
    expect(asked.every((path) => path.startsWith('/srv/proc/'))).toBe(true);
  });
});
