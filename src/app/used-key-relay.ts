// Single-use sequences and SPA packets used on this member, on their way to the fleet link's
// used-sequence share. Until a link has joined (NATS down at start, or still connecting), those of
// fleet doors are held, at most `limit` (the oldest dropped), and handed over when one listens, so
// what was used meanwhile still reaches the group.
export type UsedListener = (key: string, door: string) => void;

export class UsedKeyRelay {
  private listener: UsedListener | undefined;
  private readonly held: [key: string, door: string][] = [];

  constructor(
    private readonly shared: (door: string) => boolean,
    private readonly limit = 65_536,
  ) {}

  /** A key used here on `door`. */
  emit(key: string, door: string): void {
    if (this.listener) {
      this.listener(key, door);
      return;
    }
    if (!this.shared(door)) return;
    if (this.held.length >= this.limit) this.held.shift();
    this.held.push([key, door]);
  }

  /** The link that joined listens from now on, after the keys held for it. */
  listen(listener: UsedListener): void {
    this.listener = listener;
    for (const [key, door] of this.held.splice(0)) listener(key, door);
  }

  /** The link failed to start: hold keys again until the next one listens. */
  detach(): void {
    this.listener = undefined;
  }
}
