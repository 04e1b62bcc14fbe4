// The control socket speaks one JSON request and one JSON response per connection,
// each a single line. Only root can reach the socket (mode 0600 in the state dir).
export type ControlRequest =
  | { readonly op: 'status' }
  | { readonly op: 'grant'; readonly src: string; readonly door: string; readonly for?: string }
  | { readonly op: 'revoke'; readonly src: string; readonly door?: string; readonly endSessions?: boolean };

export type ControlResponse =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly code: string; readonly error: string };

export const CONTROL_SOCKET_NAME = 'control.sock';

/** What answers control requests: the running daemon, or the CLI working on the state file directly. */
export interface ControlHandler {
  handle(request: ControlRequest): Promise<unknown>;
}

/** Validate an incoming request; returns an error message when it is not one. */
export function checkRequest(value: unknown): ControlRequest | string {
  if (typeof value !== 'object' || value === null) return 'expected a JSON object';
  const request = value as Record<string, unknown>;
  const text = (key: string): boolean => typeof request[key] === 'string';
  switch (request['op']) {
    case 'status':
      return { op: 'status' };
    case 'grant':
      if (!text('src') || !text('door') || (request['for'] !== undefined && !text('for')))
        return 'grant needs string fields src, door and optionally for';
      return request as ControlRequest;
    case 'revoke':
      if (
        !text('src') ||
        (request['door'] !== undefined && !text('door')) ||
        (request['endSessions'] !== undefined && typeof request['endSessions'] !== 'boolean')
      ) {
        return 'revoke needs a string src and optionally door and a boolean endSessions';
      }
      return request as ControlRequest;
    default:
      return `expected op to be one of status, grant, revoke, got ${JSON.stringify(request['op'])}`;
  }
}
