import { afterEach, describe, expect, test } from '@jest/globals';
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { buildPingArgs, sendEchoRequest, sendTcpSyn, sendUdpDatagram } from '../../src/client/knock-packets.js';
import { KnocktailError } from '../../src/model/errors.js';
import { RecordingRunner } from '../support/recording-runner.js';

// Real packets, on loopback only: each knock must reach the listener exactly once.
const loopback = { text: '127.0.0.1', family: 4 as const };
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

function tcpListener(): Promise<{ port: number; connections: () => number; next: Promise<void> }> {
  let count = 0;
  let first!: () => void;
  const next = new Promise<void>((resolve) => (first = resolve));
  const server: Server = createServer((socket) => {
    count++;
    socket.on('error', () => undefined);
    socket.destroy();
    first();
  });
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ port: typeof address === 'object' && address ? address.port : 0, connections: () => count, next });
    }),
  );
}

function udpListener(): Promise<{ port: number; datagrams: () => number[]; next: Promise<void> }> {
  const sizes: number[] = [];
  let first!: () => void;
  const next = new Promise<void>((resolve) => (first = resolve));
  const socket: DgramSocket = createSocket('udp4');
  socket.on('message', (message) => {
    sizes.push(message.length);
    first();
  });
  closers.push(() => new Promise((resolve) => socket.close(() => resolve())));
  return new Promise((resolve) =>
    socket.bind(0, '127.0.0.1', () => resolve({ port: socket.address().port, datagrams: () => [...sizes], next })),
  );
}

// Lets any further packet of the same knock arrive before counting (a settle, not a timing assertion).
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 50));

describe('sendTcpSyn', () => {
  test('one tcp knock reaches a listener as exactly one connection attempt', async () => {
    const listener = await tcpListener();
    await sendTcpSyn(loopback, listener.port);
    await listener.next;
    await settle();
    expect(listener.connections()).toBe(1);
  });

  test('a knock on a closed port is sent without an error (the refusal is the target answering)', async () => {
    const listener = await tcpListener();
    const closedPort = listener.port;
    await closers.pop()!();
    await expect(sendTcpSyn(loopback, closedPort)).resolves.toBeUndefined();
  });
});

describe('sendUdpDatagram', () => {
  test('one udp knock reaches a listener as exactly one empty datagram', async () => {
    const listener = await udpListener();
    await sendUdpDatagram(loopback, listener.port);
    await listener.next;
    await settle();
    expect(listener.datagrams()).toEqual([0]);
  });
});

describe('sendEchoRequest', () => {
  test('ping is asked for one echo request in the target family, as an argv', () => {
    expect(buildPingArgs(loopback)).toEqual(['ping', '-4', '-c', '1', '-W', '1', '-n', '127.0.0.1']);
    expect(buildPingArgs({ text: '2001:db8::1', family: 6 })).toEqual([
      'ping',
      '-6',
      '-c',
      '1',
      '-W',
      '1',
      '-n',
      '2001:db8::1',
    ]);
  });

  test('no reply (ping exit 1) is a sent knock, since the server drops knocks', async () => {
    const runner = new RecordingRunner().on(['ping'], { exitCode: 1 });
    await expect(sendEchoRequest(loopback, runner)).resolves.toBeUndefined();
    expect(runner.lines()).toEqual(['ping -4 -c 1 -W 1 -n 127.0.0.1']);
  });

  test('a ping failure (exit 2) is reported with its message', async () => {
    const runner = new RecordingRunner().on(['ping'], {
      exitCode: 2,
      stderr: 'ping: connect: Network is unreachable\n',
    });
    await expect(sendEchoRequest(loopback, runner)).rejects.toThrow(
      /ping exited 2: ping: connect: Network is unreachable/,
    );
  });

  test('a missing ping names the package to install', async () => {
    const runner = {
      run: (): Promise<never> =>
        Promise.reject(new KnocktailError('BINARY_MISSING', 'Expected the program `ping` on PATH')),
    };
    await expect(sendEchoRequest(loopback, runner)).rejects.toThrow(/iputils-ping/);
  });
});
