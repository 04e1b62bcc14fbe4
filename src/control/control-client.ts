import { lstat } from 'node:fs/promises';
import { KnocktailError, type KnocktailErrorCode } from '../model/errors.js';
import type { ControlRequest, ControlResponse } from './protocol.js';

// The CLI's side: send one request to the running daemon. Resolves undefined when no
// daemon listens (no socket, or a stale one), so the caller can work offline.
export async function requestDaemon(path: string, request: ControlRequest, timeoutMs = 10_000): Promise<unknown> {
  if (!(await mayListen(path))) return undefined;
  // node:net only when a socket is there: loading it is a tenth of `knocktail status` without a daemon.
  const { connect } = await import('node:net');
  const response = await new Promise<ControlResponse | undefined>((resolve, reject) => {
    const socket = connect(path);
    let data = '';
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new KnocktailError('CONTROL_SOCKET', `The daemon did not answer on ${path} within ${timeoutMs} ms`));
    });
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      data += chunk;
    });
    socket.on('end', () => {
      try {
        resolve(JSON.parse(data) as ControlResponse);
      } catch {
        reject(new KnocktailError('CONTROL_SOCKET', `The daemon sent an unreadable answer on ${path}`));
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') resolve(undefined);
      else
        reject(
          new KnocktailError('CONTROL_SOCKET', `Cannot talk to the daemon on ${path}: ${error.message}`, {
            cause: error,
          }),
        );
    });
  });
  if (response === undefined) return undefined;
  if (!response.ok) throw new KnocktailError(response.code as KnocktailErrorCode, response.error);
  return response.result ?? null;
}

// No file at the path: no daemon, as connect() would say (ENOENT). Anything else is left to connect().
async function mayListen(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}
