import { describe, expect, test } from '@jest/globals';
import { ManualClock } from '../../src/model/clock.js';
import type { PersistedState } from '../../src/grant/state-file.js';
import { StateStore } from '../../src/grant/state-store.js';

const flushPromises = () => new Promise((resolve) => setImmediate(resolve));

function setup(options: { fail?: number } = {}) {
  const clock = new ManualClock(0);
  let version = 0;
  let fail = options.fail ?? 0;
  const writes: number[] = [];
  const errors: string[] = [];
  const store = new StateStore({
    clock,
    batchMs: 100,
    snapshot: (): PersistedState => ({ version: 1, grants: [], usedOneTime: [String(version)] }),
    save: (state) => {
      if (fail > 0) {
        fail -= 1;
        return Promise.reject(new Error('disk full'));
      }
      writes.push(Number(state.usedOneTime[0]));
      return Promise.resolve();
    },
    onError: (error) => void errors.push((error as Error).message),
  });
  const bump = (): void => {
    version += 1;
    store.changed();
  };
  return { clock, store, writes, errors, bump };
}

describe('StateStore', () => {
  test('a burst of changes is one write, a batch later, holding all of them', async () => {
    const { clock, writes, bump } = setup();
    for (let i = 0; i < 1000; i++) bump();
    await flushPromises();
    expect(writes).toEqual([]);
    clock.advanceTo(100);
    await flushPromises();
    expect(writes).toEqual([1000]);
    clock.advanceTo(1000);
    await flushPromises();
    expect(writes).toEqual([1000]);
  });

  test('persisted() writes at once and resolves when the write covering every change so far is done', async () => {
    const { store, writes, bump } = setup();
    bump();
    await store.persisted();
    expect(writes).toEqual([1]);
    await store.persisted();
    expect(writes).toEqual([1]);
  });

  test('changes made during a write go out with the next one', async () => {
    const { clock, store, writes, bump } = setup();
    bump();
    const first = store.persisted();
    bump();
    bump();
    await first;
    expect(writes).toEqual([1]);
    clock.advanceTo(100);
    await flushPromises();
    expect(writes).toEqual([1, 3]);
  });

  test('a failed write is reported, waiters still go ahead, and the state is written again later', async () => {
    const { clock, store, writes, errors, bump } = setup({ fail: 1 });
    bump();
    await store.persisted();
    expect(errors).toEqual(['disk full']);
    expect(writes).toEqual([]);
    clock.advanceTo(5000);
    await flushPromises();
    expect(writes).toEqual([1]);
  });

  test('flush writes what is pending now and nothing when nothing changed', async () => {
    const { store, writes, bump } = setup();
    await store.flush();
    expect(writes).toEqual([]);
    bump();
    await store.flush();
    expect(writes).toEqual([1]);
  });
});
