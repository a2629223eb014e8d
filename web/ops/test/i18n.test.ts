import { describe, expect, it } from 'vitest';
import { DICTS, logPlace, setLang } from '../src/i18n.js';

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

  it('says where an action is in the audit log, or that it is pending, in both languages', () => {
    setLang('en');
    expect(logPlace(123)).toBe('log #123');
    expect(logPlace(0)).toBe('log #0');
    expect(logPlace(undefined)).toBe('log pending');
    setLang('es');
    expect(logPlace(123)).toBe('registro #123');
    expect(logPlace(undefined)).toBe('registro pendiente');
  });
});
