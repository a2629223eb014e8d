import { describe, expect, it } from 'vitest';
import { setLang, STRINGS, t } from '../src/i18n.js';

describe('i18n', () => {
  it('has every key, with the same placeholders, in both languages', () => {
    const [es, en] = [STRINGS.es, STRINGS.en];
    expect(Object.keys(es).sort()).toEqual(Object.keys(en).sort());
    const vars = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const k of Object.keys(en) as (keyof typeof en)[]) {
      expect(vars(es[k]), k).toEqual(vars(en[k]));
      expect(es[k].trim(), k).not.toBe('');
    }
  });

  it('fills placeholders in the current language', () => {
    setLang('en');
    expect(t('marked', { n: 1, max: 2 })).toBe('1 of 2 marked');
    setLang('es');
    expect(t('marked', { n: 1, max: 2 })).toBe('1 de 2 marcadas');
  });
});
