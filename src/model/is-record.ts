/** A JSON object: not null, not an array. The first check of every reader of JSON it did not write itself. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
