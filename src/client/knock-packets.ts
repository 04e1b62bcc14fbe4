import { createSocket } from 'node:dgram';
import { Socket } from 'node:net';
import type { Address } from '../model/address.js';
import { KnocktailError } from '../model/errors.js';
import type { CommandRunner } from '../firewall/backend.js';

// One knock = one packet. Node has no raw sockets, so a TCP knock is a non-blocking
// connect whose socket is destroyed as soon as the kernel has sent the SYN (no
// retransmit follows, and the knocked port never sees a handshake); a UDP knock is one
// empty datagram; an ICMP knock is one echo request sent by ping(8).

// Errors that mean the packet never left this machine; anything else (refused, reset) came back from the target.
const NOT_SENT = new Set(['ENETUNREACH', 'EHOSTUNREACH', 'EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EINVAL', 'EACCES', 'EPERM']);

function notSent(what: string, target: Address, error: NodeJS.ErrnoException): KnocktailError {
  return new KnocktailError('SOURCE_IO', `Could not send ${what} to ${target.text}: ${error.code ?? error.message}`, {
    cause: error,
  });
}

/** Sends one TCP SYN to `port`; resolves once connect(2) has been issued. */
export function sendTcpSyn(target: Address, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let settled = false;
    const settle = (error?: KnocktailError): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    socket.on('error', (error: NodeJS.ErrnoException) =>
      settle(NOT_SENT.has(error.code ?? '') ? notSent(`tcp:${port}`, target, error) : undefined),
    );
    // Node emits connectionAttempt just before it calls connect(2); one turn later the SYN is out.
    socket.once('connectionAttempt', () => setImmediate(() => settle()));
    // Node before 20.12 has no connectionAttempt; well before the first retransmit (1 s) is late enough.
    setTimeout(() => settle(), 200).unref();
    socket.connect({ host: target.text, port, family: target.family });
  });
}

/** Sends one empty UDP datagram to `port`. */
export function sendUdpDatagram(target: Address, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(target.family === 6 ? 'udp6' : 'udp4');
    let settled = false;
    const settle = (error?: Error | null): void => {
      if (settled) return;
      settled = true;
      socket.close();
      if (error) reject(notSent(`udp:${port}`, target, error));
      else resolve();
    };
    socket.on('error', settle);
    socket.send(Buffer.alloc(0), port, target.text, settle);
  });
}

/** The ping argv for one echo request (ping exits 1 when no reply came: a dropped knock is normal). */
export function buildPingArgs(target: Address): string[] {
  return ['ping', target.family === 6 ? '-6' : '-4', '-c', '1', '-W', '1', '-n', target.text];
}

export async function sendEchoRequest(target: Address, runner: CommandRunner): Promise<void> {
  let result;
  try {
    result = await runner.run(buildPingArgs(target));
  } catch (error) {
    if (error instanceof KnocktailError && error.code === 'BINARY_MISSING') {
      throw new KnocktailError(
        'BINARY_MISSING',
        'Expected `ping` on PATH for an icmp knock; install the Debian package `iputils-ping`',
        { cause: error },
      );
    }
    throw error;
  }
  if (result.exitCode !== 0 && result.exitCode !== 1) {
    throw new KnocktailError(
      'SOURCE_IO',
      `Could not send icmp to ${target.text}: ping exited ${result.exitCode}: ${result.stderr.trim()}`,
    );
  }
}
