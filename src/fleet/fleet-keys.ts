// Names inside the group's JetStream account: one KV bucket (grants, members) and one audit
// stream. KV keys are subject tokens, so a source address (IPv6 has ':') is hex-encoded.
export const GRANT_PREFIX = 'g.';
export const MEMBER_PREFIX = 'm.';
/** Used single-use sequences: `u.` and a hash of the sequence (see used-sequence-share.ts). */
export const USED_PREFIX = 'u.';

/** How long the bucket keeps an entry (set when the first member creates it): the longest fleet grant and an hour. */
export function bucketTtl(maxOpenFor: number): number {
  return maxOpenFor + 3_600_000;
}

export function bucketName(group: string): string {
  return `knocktail_${group}`;
}

export function auditStreamName(group: string): string {
  return `knocktail_audit_${group}`;
}

export function auditSubject(group: string, host: string): string {
  return `knocktail.${group}.audit.${host}`;
}

export function grantEntryKey(door: string, src: string): string {
  return `${GRANT_PREFIX}${door}.${Buffer.from(src, 'utf8').toString('hex')}`;
}

export function memberEntryKey(host: string): string {
  return `${MEMBER_PREFIX}${host}`;
}

/** Door and source of a grant key, or undefined for another kind of key. */
export function parseGrantEntryKey(key: string): { door: string; src: string } | undefined {
  const match = /^g\.([a-z0-9][a-z0-9_-]{0,15})\.((?:[0-9a-f]{2})+)$/.exec(key);
  return match ? { door: match[1]!, src: Buffer.from(match[2]!, 'hex').toString('utf8') } : undefined;
}
