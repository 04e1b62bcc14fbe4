// The OS's reason for a failed file operation, short: "ENOENT (no such file or directory)".
export function osReason(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const text = String(message ?? error);
  if (typeof code !== 'string') return text;
  const detail = text.replace(new RegExp(`^${code}: `), '').replace(/, \w+ '.*'$/s, '');
  return detail === text || detail === '' ? code : `${code} (${detail})`;
}
