import type { Family } from '../model/address.js';
import { DeadlineQueue } from '../knock/deadline-queue.js';
import type { Door } from '../model/door.js';
import { grantKey, type Grant } from '../model/grant.js';

export interface OpenResult {
  readonly kind: 'opened' | 'refreshed';
  readonly grant: Grant;
}

// Which source holds which door, until when. Pure bookkeeping, no clock: the grant engine
// turns changes into firewall commands and asks firstDue(now) when its timer fires. Every
// change is O(log n) (an expiry min-heap beside the map); nothing on the hot path scans all grants.
// Sources are normalised addresses (the parser's, or the engine's at its public entry points).
export class GrantTable {
  private readonly grants = new Map<string, Grant>();
  private readonly expiries = new DeadlineQueue<string>();
  private readonly perDoor = new Map<string, number>();

  constructor(grants: readonly Grant[] = []) {
    for (const grant of grants) this.put(grant);
  }

  get size(): number {
    return this.grants.size;
  }

  /** Grants `door` holds (O(1): the grant limits are checked per knock). */
  countFor(door: string): number {
    return this.perDoor.get(door) ?? 0;
  }

  /**
   * Open `door` for `src`, or refresh the grant it already holds: a refresh keeps openedAt and
   * moves `until` to now + openFor, never earlier than it was; until-closed stays until-closed.
   * `openFor` overrides the door's (null = until-closed), e.g. `knocktail grant --for`.
   */
  open(door: Door, src: string, family: Family, now: number, openFor?: number | null): OpenResult {
    const lifetime = openFor === undefined ? door.openFor : openFor;
    const wanted = lifetime === null ? null : now + lifetime;
    const held = this.grants.get(grantKey({ door: door.name, src }));
    if (held) {
      const until = held.until === null || wanted === null ? null : Math.max(held.until, wanted);
      return { kind: 'refreshed', grant: this.put({ ...held, ports: door.open, until }) };
    }
    return {
      kind: 'opened',
      grant: this.put({ door: door.name, src, family, ports: door.open, openedAt: now, until: wanted }),
    };
  }

  /** Put a grant as it is (a persisted one, or one a fleet peer opened), replacing any held for its door and source. */
  put(grant: Grant): Grant {
    const key = grantKey(grant);
    if (!this.grants.has(key)) this.perDoor.set(grant.door, this.countFor(grant.door) + 1);
    this.grants.set(key, grant);
    if (grant.until === null) this.expiries.delete(key);
    else this.expiries.set(key, grant.until);
    return grant;
  }

  /** Remove and return the grant, if held. */
  close(door: string, src: string): Grant | undefined {
    const key = grantKey({ door, src });
    const grant = this.grants.get(key);
    if (!grant) return undefined;
    this.grants.delete(key);
    this.expiries.delete(key);
    const left = this.countFor(door) - 1;
    if (left > 0) this.perDoor.set(door, left);
    else this.perDoor.delete(door);
    return grant;
  }

  get(door: string, src: string): Grant | undefined {
    return this.grants.get(grantKey({ door, src }));
  }

  /** The grant that falls due first, if it is due at `now` (O(1)). */
  firstDue(now: number): Grant | undefined {
    const first = this.expiries.peek();
    return first && first.at <= now ? this.grants.get(first.key) : undefined;
  }

  /** Grants whose time is up at `now` (still held: closing them is the caller's job), soonest first. */
  due(now: number): Grant[] {
    const due: Grant[] = [];
    for (let grant = this.firstDue(now); grant; grant = this.firstDue(now)) {
      due.push(grant);
      this.expiries.delete(grantKey(grant));
    }
    for (const grant of due) this.expiries.set(grantKey(grant), grant.until!);
    return due;
  }

  /** When the next grant falls due, if any has an end (O(1)). */
  nextDue(): number | undefined {
    return this.expiries.peek()?.at;
  }

  /** Every grant (status, persistence, reconcile: never per packet). */
  all(): Grant[] {
    return [...this.grants.values()];
  }
}
