import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { normaliseAddress } from '../model/address.js';
import { KnocktailError, describeValue } from '../model/errors.js';
import type { Metrics } from './metrics.js';

// GET /metrics over plain HTTP. Metrics tell an onlooker which doors exist and how busy
// they are, so only loopback is served unless the caller explicitly allows more.
export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

export interface ServeMetricsOptions {
  /** Allow a non-loopback address (a warning is still logged). */
  readonly allowRemote?: boolean;
  readonly warn?: (message: string) => void;
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  const address = normaliseAddress(host);
  return address !== undefined && (address.family === 4 ? address.text.startsWith('127.') : address.text === '::1');
}

// "host:port", "[v6]:port", or a bare port (":9469", "9469") meaning 127.0.0.1, as the config allows.
function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:(?:\[([^\]]+)\]|([^:[\]]*)):)?(\d{1,5})$/.exec(listen.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new KnocktailError(
      'CONFIG_INVALID',
      `Expected metrics.listen to be host:port like "127.0.0.1:9469" or "[::1]:9469", got ${describeValue(listen)}`,
    );
  }
  return { host: match[1] ?? (match[2] || '127.0.0.1'), port };
}

export async function serveMetrics(
  metrics: Metrics,
  listen: string,
  options: ServeMetricsOptions = {},
): Promise<MetricsServer> {
  const { host, port } = parseListen(listen);
  if (!isLoopbackHost(host)) {
    if (!options.allowRemote) {
      throw new KnocktailError(
        'CONFIG_INVALID',
        `Expected metrics.listen on a loopback address (127.0.0.1, ::1, localhost), got ${describeValue(host)}; exposing metrics beyond this host must be allowed explicitly`,
      );
    }
    options.warn?.(`metrics are served on ${listen}, reachable from other hosts`);
  }
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    metrics.text().then(
      (text) =>
        response
          .writeHead(200, { 'content-type': metrics.contentType })
          .end(request.method === 'HEAD' ? undefined : text),
      (error: unknown) =>
        response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new KnocktailError('SOURCE_IO', `cannot serve metrics on ${listen}: ${error.message}`, { cause: error })),
    );
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
