import { describe, expect, it } from 'vitest';
import { DICTS } from '../src/i18n.js';

describe('i18n', () => {
  it('has every key in both languages, with the same placeholders', () => {
    const en = DICTS.en;
    const es = DICTS.es;
    expect(Object.keys(es).sort()).toEqual(Object.keys(en).sort());
    for (const k of Object.keys(en) as (keyof typeof en)[]) {
      const vars = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      expect(vars(es[k]), k).toEqual(vars(en[k]));
    }
  });
});
