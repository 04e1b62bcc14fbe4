import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { LruMap } from '../../src/knock/lru-map.js';

describe('LruMap', () => {
  test('the oldest entry is the least recently set, whatever sets and deletes came before', () => {
    const operation = fc.oneof(fc.record({ set: fc.nat(15) }), fc.record({ remove: fc.nat(15) }));
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 150 }), (operations) => {
        const lru = new LruMap<number>();
        const model: string[] = []; // keys, least recently set first
        for (const op of operations) {
          const key = String('set' in op ? op.set : op.remove);
          const at = model.indexOf(key);
          if (at >= 0) model.splice(at, 1);
          if ('set' in op) {
            lru.set(key, op.set);
            model.push(key);
          } else {
            lru.delete(key);
          }
          expect(lru.size).toBe(model.length);
          expect(lru.oldest()).toBe(model.length > 0 ? Number(model[0]) : undefined);
          expect([...lru.values()]).toEqual(model.map(Number));
        }
      }),
    );
  });
});
