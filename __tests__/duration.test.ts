import { describe, expect, test } from '@jest/globals';
import { formatDuration, parseDuration } from '../src/model/duration.js';

describe('durations', () => {
  test('every unit of the config reads as milliseconds', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('1.5s')).toBe(1500);
  });

  test('anything else is not a duration', () => {
    for (const text of ['soon', '10', 's', '-1s', '1w', '1 h', '']) expect(parseDuration(text)).toBeUndefined();
  });

  test('formatting picks the largest exact unit', () => {
    expect(formatDuration(90_000)).toBe('90s');
    expect(formatDuration(3_600_000)).toBe('1h');
    expect(formatDuration(1500)).toBe('1500ms');
  });
});
