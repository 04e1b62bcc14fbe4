import { describe, expect, test } from '@jest/globals';
import { LineLocator } from '../../src/cli/line-locator.js';

describe('LineLocator', () => {
  test('numbers lines across chunks of a file and starts again in the next file', () => {
    const locator = new LineLocator();
    locator.chunkRead('a.log', Buffer.from('one\ntwo\nthree\n'));
    expect(locator.locate('two')).toEqual({ file: 'a.log', line: 2 });
    locator.chunkRead('a.log', Buffer.from('four\nfive\n'));
    expect(locator.locate('five')).toEqual({ file: 'a.log', line: 5 });
    locator.chunkRead('b.log', Buffer.from('six\n'));
    expect(locator.locate('six')).toEqual({ file: 'b.log', line: 1 });
  });

  test('tells repeated lines apart by their order, and matches whole lines only', () => {
    const locator = new LineLocator();
    locator.chunkRead('a.log', Buffer.from('xsame\nsame\nother\nsame\n'));
    expect(locator.locate('same')).toEqual({ file: 'a.log', line: 2 });
    expect(locator.locate('same')).toEqual({ file: 'a.log', line: 4 });
  });

  test('a line reported out of order is found from the chunk start; an unknown one has no number', () => {
    const locator = new LineLocator();
    locator.chunkRead('a.log', Buffer.from('one\ntwo\nthree\n'));
    expect(locator.locate('three')).toEqual({ file: 'a.log', line: 3 });
    expect(locator.locate('one')).toEqual({ file: 'a.log', line: 1 });
    expect(locator.locate('nine')).toEqual({ file: 'a.log', line: undefined });
  });

  test('counts the over-long lines the reader dropped before a chunk', () => {
    const locator = new LineLocator();
    locator.chunkRead('a.log', Buffer.from('one\n'));
    locator.chunkRead('a.log', Buffer.from('three\n'), 1);
    expect(locator.locate('three')).toEqual({ file: 'a.log', line: 3 });
  });
});
