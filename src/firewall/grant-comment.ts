// Each grant rule carries its door and expiry in a comment, so the firewall alone is
// enough to list, reconcile and expire it after a crash (fwknop's `_exp_<epoch>`).
// `until` is epoch milliseconds, so a listed grant matches the persisted one exactly.
const COMMENT = /^knocktail door=(\S+) until=(\d+|never)$/;

export function formatGrantComment(door: string, until: number | null): string {
  return `knocktail door=${door} until=${until === null ? 'never' : String(until)}`;
}

/** The door and expiry in a knocktail comment, or undefined for any other text. */
export function parseGrantComment(text: string): { door: string; until: number | null } | undefined {
  const match = COMMENT.exec(text);
  if (!match) return undefined;
  return { door: match[1]!, until: match[2] === 'never' ? null : Number(match[2]) };
}
