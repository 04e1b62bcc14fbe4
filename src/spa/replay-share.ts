import type { ReplayCache } from './replay-cache.js';

// How a used SPA packet travels through the fleet's used-sequence entries (fleet/used-sequence-share.ts),
// so the replay cache of a fleet SPA door is group-wide: `spa:<until>:<digest>`, `until` being when
// the packet turns stale (its timestamp + maxAge, epoch ms), which is also when the group's entry
// expires (keyRelevantUntil reads it).
export const SPA_USED_PREFIX = 'spa:';

/** The longest a shared digest is kept from now: a packet stamped maxAge (at most 1d) ahead stays fresh for 2 × maxAge. */
export const SPA_SHARED_LIFE_LIMIT_MS = 2 * 86_400_000;

export function spaUsedKey(digest: string, until: number): string {
  return `${SPA_USED_PREFIX}${until}:${digest}`;
}

/** Digest and until of an SPA key, or undefined for any other key (a knock sequence's, or a malformed one). */
export function parseSpaUsedKey(key: string): { readonly digest: string; readonly until: number } | undefined {
  const match = /^spa:(\d{1,15}):([0-9a-f]{64})$/.exec(key);
  return match ? { until: Number(match[1]), digest: match[2]! } : undefined;
}

/**
 * Remember a packet another member used: `added` (save the cache), `known` already, or `refused`
 * (not an SPA key, stale, implausibly far ahead, or the cache is full: bounded like local packets).
 */
export function rememberSharedPacket(cache: ReplayCache, key: string, now: number): 'added' | 'known' | 'refused' {
  const used = parseSpaUsedKey(key);
  if (!used || used.until < now || used.until > now + SPA_SHARED_LIFE_LIMIT_MS) return 'refused';
  if (cache.seen(used.digest, now)) return 'known';
  return cache.add(used.digest, used.until, now) ? 'added' : 'refused';
}
