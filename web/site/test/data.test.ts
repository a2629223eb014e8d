import { describe, expect, it } from 'vitest';
import { figureHref, percent } from '../src/data.js';

describe('figures', () => {
  it('link to the record file they are read from', () => {
    expect(figureHref({ value: 3, file: 'results.json', pointers: ['/totals/0/counts/1/votes'] })).toBe('record/results.json');
  });

  it('give percentages with one decimal, and none of nothing', () => {
    expect(percent(1, 3)).toBe(33.3);
    expect(percent(2, 3)).toBe(66.7);
    expect(percent(5, 5)).toBe(100);
    expect(percent(0, 0)).toBeUndefined();
  });
});
