import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { DeadlineQueue } from '../../src/knock/deadline-queue.js';

describe('DeadlineQueue', () => {
  test('peek always shows the earliest deadline, whatever sets, moves and deletes came before', () => {
    const operation = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key: fc.nat(20), at: fc.integer({ min: 0, max: 1000 }) }),
      fc.record({ kind: fc.constant('delete' as const), key: fc.nat(20) }),
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 200 }), (operations) => {
        const queue = new DeadlineQueue<number>();
        const model = new Map<number, number>();
        for (const op of operations) {
          if (op.kind === 'set') {
            queue.set(op.key, op.at);
            model.set(op.key, op.at);
          } else {
            queue.delete(op.key);
            model.delete(op.key);
          }
          expect(queue.size).toBe(model.size);
          const earliest = model.size === 0 ? undefined : Math.min(...model.values());
          expect(queue.peek()?.at).toBe(earliest);
          if (earliest !== undefined) expect(model.get(queue.peek()!.key)).toBe(earliest);
        }
      }),
    );
  });
});
