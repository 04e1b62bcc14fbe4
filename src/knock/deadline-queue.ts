// An indexed min-heap of one deadline per key: the tracker asks "which source needs a sweep
// next" after every packet, so this must be O(log n), not a scan of every tracked source.
interface Entry<K> {
  readonly key: K;
  at: number;
  /** Where the entry sits in the heap array (kept in the entry so moves touch no Map). */
  position: number;
}

export class DeadlineQueue<K> {
  private readonly heap: Entry<K>[] = [];
  private readonly entries = new Map<K, Entry<K>>();

  get size(): number {
    return this.heap.length;
  }

  /** Set (or move) the deadline of `key`. */
  set(key: K, at: number): void {
    const entry = this.entries.get(key);
    if (!entry) {
      const added: Entry<K> = { key, at, position: this.heap.length };
      this.heap.push(added);
      this.entries.set(key, added);
      this.up(added.position);
      return;
    }
    const earlier = at < entry.at;
    entry.at = at;
    if (earlier) this.up(entry.position);
    else this.down(entry.position);
  }

  delete(key: K): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    const last = this.heap.pop()!;
    if (last === entry) return;
    this.heap[entry.position] = last;
    last.position = entry.position;
    this.up(last.position);
    this.down(last.position);
  }

  peek(): { readonly key: K; readonly at: number } | undefined {
    return this.heap[0];
  }

  private up(position: number): void {
    let child = position;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (this.heap[parent]!.at <= this.heap[child]!.at) break;
      this.swap(parent, child);
      child = parent;
    }
  }

  private down(position: number): void {
    let parent = position;
    for (;;) {
      const left = parent * 2 + 1;
      const right = left + 1;
      let smallest = parent;
      if (left < this.heap.length && this.heap[left]!.at < this.heap[smallest]!.at) smallest = left;
      if (right < this.heap.length && this.heap[right]!.at < this.heap[smallest]!.at) smallest = right;
      if (smallest === parent) return;
      this.swap(parent, smallest);
      parent = smallest;
    }
  }

  private swap(a: number, b: number): void {
    const first = this.heap[a]!;
    const second = this.heap[b]!;
    this.heap[a] = second;
    this.heap[b] = first;
    second.position = a;
    first.position = b;
  }
}
