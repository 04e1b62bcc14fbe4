// The one error class: every failure knocktail reports carries a code a script can test
// and a message that says what was expected and what came instead.
export type KnocktailErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_UNREADABLE'
  | 'USAGE'
  | 'BACKEND_UNKNOWN'
  | 'BINARY_MISSING'
  | 'FIREWALL_COMMAND'
  | 'FIREWALL_LOCKED'
  | 'STATE_CORRUPT'
  | 'STATE_IO'
  | 'SOURCE_IO'
  | 'CONTROL_SOCKET'
  | 'NOT_FOUND'
  | 'HOST_FIREWALL'
  | 'GRANT_LIMIT'
  | 'LOG_PATH';

// Exit status by code: 2 for usage and configuration mistakes, 1 for runtime failures.
export function exitCodeFor(code: KnocktailErrorCode): 1 | 2 {
  return code === 'CONFIG_INVALID' || code === 'CONFIG_UNREADABLE' || code === 'USAGE' || code === 'BACKEND_UNKNOWN'
    ? 2
    : 1;
}

export class KnocktailError extends Error {
  readonly code: KnocktailErrorCode;
  /** Extra lines (one problem each), e.g. every config error found. */
  readonly details: readonly string[];

  constructor(
    code: KnocktailErrorCode,
    message: string,
    options: { cause?: unknown; details?: readonly string[] } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KnocktailError';
    this.code = code;
    this.details = options.details ?? [];
  }
}

// Render any value for an error message: `"soon"` (string), `42` (number).
export function describeValue(value: unknown): string {
  const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  let text: string;
  try {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JSON.stringify returns undefined for undefined and functions, whatever its type says.
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  if (text.length > 80) text = `${text.slice(0, 77)}...`;
  return `\`${text}\` (${kind})`;
}
