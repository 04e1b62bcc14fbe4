import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { KnocktailError, describeValue } from '../model/errors.js';

// `knock --connect HOST:PORT`: after the knock, the connection itself, carried between
// standard input and output, so `knocktail knock` can be ssh's ProxyCommand.

/** "host:22", "[2001:db8::1]:22" (ssh's %h:%p with an IPv6 %h too: the last colon splits). */
export function parseHostPort(text: string): { host: string; port: number } {
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^(.+):(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535)
    throw new KnocktailError(
      'USAGE',
      `Expected --connect to be HOST:PORT like server.example.net:22 (ssh: %h:%p), got ${describeValue(text)}`,
    );
  return { host: match[1]!, port };
}

/** Pipes `input` into the connection and the connection into `output` until the peer closes it; `input` ending half-closes it. */
export function pipeConnection(socket: Socket, input: Readable, output: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    // Once the connection is gone, standard input is of no more use: it is let go, so the process
    // can exit. Paused is not enough: ssh hands a ProxyCommand a socket as stdin, whose handle
    // keeps the process alive, and ssh waits for that exit before it closes its end (a deadlock).
    const release = (): void => {
      input.unpipe(socket);
      input.pause();
      input.destroy();
    };
    socket.once('error', (error) => {
      release();
      reject(
        new KnocktailError(
          'SOURCE_IO',
          `The connection ended with ${(error as NodeJS.ErrnoException).code ?? error.message}`,
          { cause: error },
        ),
      );
    });
    socket.once('close', () => {
      release();
      resolve();
    });
    socket.pipe(output, { end: false });
    input.pipe(socket);
  });
}
