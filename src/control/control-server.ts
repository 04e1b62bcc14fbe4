import { chmod, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { KnocktailError } from '../model/errors.js';
import { checkRequest, type ControlHandler, type ControlResponse } from './protocol.js';

// The daemon's side of the control socket.
const MAX_REQUEST_BYTES = 64 * 1024;

/**
 * Whether a daemon listens on `path`: a connect succeeds. A socket file nobody listens on (left
 * by a daemon that was killed) refuses at once; no answer within `timeoutMs` counts as a daemon
 * (a stuck one still owns its state).
 */
export function controlSocketAnswers(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (answers: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answers);
    };
    const timer = setTimeout(() => done(true), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export class ControlServer {
  private readonly path: string;
  private readonly handler: ControlHandler;
  private server: Server | undefined;

  constructor(path: string, handler: ControlHandler) {
    this.path = path;
    this.handler = handler;
  }

  async start(): Promise<void> {
    await rm(this.path, { force: true });
    const server = createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) =>
        reject(
          new KnocktailError('CONTROL_SOCKET', `Cannot listen on control socket ${this.path}: ${error.message}`, {
            cause: error,
          }),
        ),
      );
      server.listen(this.path, () => resolve());
    });
    await chmod(this.path, 0o600);
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(this.path, { force: true });
  }

  private serve(socket: Socket): void {
    let buffer = '';
    socket.setEncoding('utf8');
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('data', (data: string) => {
      buffer += data;
      if (buffer.length > MAX_REQUEST_BYTES) {
        this.reply(socket, { ok: false, code: 'USAGE', error: 'request too large' });
        return;
      }
      const newline = buffer.indexOf('\n');
      if (newline === -1) return;
      socket.removeAllListeners('data');
      void this.answer(buffer.slice(0, newline)).then((response) => this.reply(socket, response));
    });
  }

  private async answer(line: string): Promise<ControlResponse> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return { ok: false, code: 'USAGE', error: 'request is not JSON' };
    }
    const request = checkRequest(parsed);
    if (typeof request === 'string') return { ok: false, code: 'USAGE', error: request };
    try {
      return { ok: true, result: await this.handler.handle(request) };
    } catch (error) {
      const code = error instanceof KnocktailError ? error.code : 'INTERNAL';
      return { ok: false, code, error: error instanceof Error ? error.message : String(error) };
    }
  }

  private reply(socket: Socket, response: ControlResponse): void {
    socket.end(`${JSON.stringify(response)}\n`);
  }
}
