import { normaliseAddress, type Family } from '../address.js';
import type { Door } from '../model/door.js';
import { grantKey, type Grant } from '../model/grant.js';

export interface OpenResult {
  readonly kind: 'opened' | 'refreshed';
  readonly grant: Grant;
}

// Which source holds which door, until when. Pure bookkeeping: the grant manager turns changes
// into firewall commands and decides when to call due(); nothing here reads a clock.
export class GrantTable {
  private readonly grants = new Map<string, Grant>();

  constructor(grants: readonly Grant[] = []) {
    for (const grant of grants) this.grants.set(grantKey(grant), grant);
  }

  get size(): number {
    return this.grants.size;
  }

  /**
   * Open `door` for `src`, or refresh the grant it already holds: a refresh keeps openedAt and
   * moves `until` to now + openFor, never earlier than it was; until-closed stays until-closed.
   * `openFor` overrides the door's (null = until-closed), e.g. `knocktail grant --for`.
   */
  open(door: Door, src: string, family: Family, now: number, openFor?: number | null): OpenResult {
    const normalised = normaliseAddress(src);
    const address = normalised?.text ?? src;
    const lifetime = openFor === undefined ? door.openFor : openFor;
    const wanted = lifetime === null ? null : now + lifetime;
    const key = grantKey({ door: door.name, src: address });
    const held = this.grants.get(key);
    if (held) {
      const until = held.until === null || wanted === null ? null : Math.max(held.until, wanted);
      const grant: Grant = { ...held, ports: door.open, until };
      this.grants.set(key, grant);
      return { kind: 'refreshed', grant };
    }
    const grant: Grant = { door: door.name, src: address, family: normalised?.family ?? family, ports: door.open, openedAt: now, until: wanted };
    this.grants.set(key, grant);
    return { kind: 'opened', grant };
  }

  /** Remove and return the grant, if held. */
  close(door: string, src: string): Grant | undefined {
    const key = grantKey({ door, src: normaliseAddress(src)?.text ?? src });
    const grant = this.grants.get(key);
    this.grants.delete(key);
    return grant;
  }

  get(door: string, src: string): Grant | undefined {
    return this.grants.get(grantKey({ door, src: normaliseAddress(src)?.text ?? src }));
  }

  /** Grants whose time is up at `now` (still held: closing them is the caller's job), soonest first. */
  due(now: number): Grant[] {
    return this.all()
      .filter((grant) => grant.until !== null && grant.until <= now)
      .sort((a, b) => a.until! - b.until!);
  }

  /** When the next grant falls due, if any has an end. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const grant of this.grants.values()) if (grant.until !== null && (next === undefined || grant.until < next)) next = grant.until;
    return next;
  }

  all(): Grant[] {
    return [...this.grants.values()];
  }
}
