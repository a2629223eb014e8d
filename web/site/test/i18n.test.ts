import { describe, expect, it } from 'vitest';
import { modalityName, num, setLang, STRINGS, t } from '../src/i18n.js';

describe('i18n', () => {
  it('has every key, with the same placeholders, in both languages', () => {
    const [es, en] = [STRINGS.es, STRINGS.en];
    expect(Object.keys(es).sort()).toEqual(Object.keys(en).sort());
    const vars = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    const ticks = (s: string) => s.split('`').length;
    for (const k of Object.keys(en) as (keyof typeof en)[]) {
      expect(vars(es[k]), k).toEqual(vars(en[k]));
      expect(ticks(es[k]), k).toBe(ticks(en[k]));
      expect(es[k].trim(), k).not.toBe('');
    }
  });

  it('names modalities and groups digits in the current language', () => {
    setLang('en');
    expect(modalityName('booth')).toBe('Polling station');
    expect(num(12345)).toBe('12,345');
    expect(t('receiptOk', { index: 7 })).toBe('Your ballot is in the audit log at position 7.');
    setLang('es');
    expect(modalityName('booth')).toBe('Casilla');
    expect(modalityName('other')).toBe('other');
  });
});
