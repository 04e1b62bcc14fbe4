// A map that remembers use order, oldest first. Not a plain Map's insertion order: V8 leaves
// deleted entries as holes that `keys().next()` walks over, so evicting the oldest of N entries
// over and over costs O(N) each time (a flood of new sources made the tracker 100× slower).
interface Node<V> {
  readonly key: string;
  value: V;
  older: Node<V> | undefined;
  newer: Node<V> | undefined;
}

export class LruMap<V> {
  private readonly nodes = new Map<string, Node<V>>();
  private oldestNode: Node<V> | undefined;
  private newestNode: Node<V> | undefined;

  get size(): number {
    return this.nodes.size;
  }

  get(key: string): V | undefined {
    return this.nodes.get(key)?.value;
  }

  /** Store `value` as the most recently used entry. */
  set(key: string, value: V): void {
    const existing = this.nodes.get(key);
    if (existing) {
      existing.value = value;
      this.unlink(existing);
      this.append(existing);
      return;
    }
    const node: Node<V> = { key, value, older: undefined, newer: undefined };
    this.nodes.set(key, node);
    this.append(node);
  }

  delete(key: string): void {
    const node = this.nodes.get(key);
    if (!node) return;
    this.nodes.delete(key);
    this.unlink(node);
  }

  /** The least recently used value. */
  oldest(): V | undefined {
    return this.oldestNode?.value;
  }

  /** The least recently used key. */
  oldestKey(): string | undefined {
    return this.oldestNode?.key;
  }

  *values(): IterableIterator<V> {
    for (let node = this.oldestNode; node; node = node.newer) yield node.value;
  }

  private append(node: Node<V>): void {
    node.older = this.newestNode;
    node.newer = undefined;
    if (this.newestNode) this.newestNode.newer = node;
    else this.oldestNode = node;
    this.newestNode = node;
  }

  private unlink(node: Node<V>): void {
    if (node.older) node.older.newer = node.newer;
    else this.oldestNode = node.newer;
    if (node.newer) node.newer.older = node.older;
    else this.newestNode = node.older;
    node.older = undefined;
    node.newer = undefined;
  }
}
