import { describe, expect, it } from 'vitest';
import { DICTS, initialLang } from '../src/i18n.js';

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

  it('prefers the stored language, then the browser, then Spanish', () => {
    expect(initialLang('en', ['es-MX'])).toBe('en');
    expect(initialLang(null, ['fr', 'en-US'])).toBe('en');
    expect(initialLang(null, ['fr'])).toBe('es');
  });
});
