import { describe, expect, test } from '@jest/globals';
import { UsedKeyRelay } from '../../src/app/used-key-relay.js';

describe('UsedKeyRelay', () => {
  test('holds the keys of shared doors until a link listens, bounded, then passes each on at once', () => {
    const relay = new UsedKeyRelay((door) => door !== 'local', 2);
    const heard: string[] = [];
    relay.emit('once:a', 'vault');
    relay.emit('once:b', 'local');
    relay.emit('spa:1:c', 'spa');
    relay.emit('spa:1:d', 'spa');
    relay.listen((key, door) => heard.push(`${door} ${key}`));
    relay.emit('once:e', 'local');
    expect(heard).toEqual(['spa spa:1:c', 'spa spa:1:d', 'local once:e']);
  });

  test('after a link that failed to start, keys are held again for the next one', () => {
    const relay = new UsedKeyRelay(() => true);
    const first: string[] = [];
    const second: string[] = [];
    relay.listen((key) => first.push(key));
    relay.detach();
    relay.emit('once:a', 'vault');
    relay.listen((key) => second.push(key));
    expect({ first, second }).toEqual({ first: [], second: ['once:a'] });
  });
});
