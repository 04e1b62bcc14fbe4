// An indexed min-heap of one deadline per key: the tracker asks "which source needs a sweep
// next" after every packet, so this must be O(log n), not a scan of every tracked source.
export class DeadlineQueue<K> {
  private readonly heap: { key: K; at: number }[] = [];
  private readonly index = new Map<K, number>();

  get size(): number {
    return this.heap.length;
  }

  /** Set (or move) the deadline of `key`. */
  set(key: K, at: number): void {
    const position = this.index.get(key);
    if (position === undefined) {
      this.heap.push({ key, at });
      this.index.set(key, this.heap.length - 1);
      this.up(this.heap.length - 1);
      return;
    }
    const entry = this.heap[position]!;
    const earlier = at < entry.at;
    entry.at = at;
    if (earlier) this.up(position);
    else this.down(position);
  }

  delete(key: K): void {
    const position = this.index.get(key);
    if (position === undefined) return;
    const last = this.heap.pop()!;
    this.index.delete(key);
    if (position === this.heap.length) return;
    this.heap[position] = last;
    this.index.set(last.key, position);
    this.up(position);
    this.down(position);
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
    this.index.set(second.key, a);
    this.index.set(first.key, b);
  }
}
