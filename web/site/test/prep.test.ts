import { describe, expect, it } from 'vitest';
import { dirName } from '../src/prep.js';

describe('PREP', () => {
  it('names snapshot directories as the publisher does', () => {
    expect(dirName(1)).toBe('000001');
    expect(dirName(123456)).toBe('123456');
  });
});
