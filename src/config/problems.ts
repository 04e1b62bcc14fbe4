import { formatPath, type PathSegment } from './json-path.js';

// Collects "path: message" problems, one per location: when the schema already said a
// value is malformed, the semantic checks do not pile on. Lines come out grouped by door.
export class Problems {
  private readonly byPath = new Map<string, string>();

  add(segments: readonly PathSegment[], message: string): void {
    this.addAt(formatPath(segments), message);
  }

  addAt(path: string, message: string): void {
    if (!this.byPath.has(path)) this.byPath.set(path, message);
  }

  has(segments: readonly PathSegment[]): boolean {
    return this.byPath.has(formatPath(segments));
  }

  get count(): number {
    return this.byPath.size;
  }

  lines(): string[] {
    const door = (path: string): number => Number(/^doors\[(\d+)\]/.exec(path)?.[1] ?? -1);
    return [...this.byPath]
      .map(([path, message], order) => ({ path, message, order, door: door(path) }))
      .sort((a, b) => a.door - b.door || a.order - b.order)
      .map(({ path, message }) => `${path}: ${message}`);
  }
}
