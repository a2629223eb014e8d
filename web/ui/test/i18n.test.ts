import { afterEach, describe, expect, it, vi } from 'vitest';
import { fill, i18n, initialLang, isLang, LANG_KEY, LANGS } from '../src/i18n.js';

const en = { hello: 'Hello, {name}', count: '{n} of {max}', plain: 'Plain' };
const es: Record<keyof typeof en, string> = { hello: 'Hola, {name}', count: '{n} de {max}', plain: 'Simple' };

/** The browser globals the language choice reads, as a page would have them. */
function browser(search: string, saved: string | null, languages: string[]): Map<string, string> {
  const store = new Map<string, string>();
  if (saved !== null) store.set(LANG_KEY, saved);
  vi.stubGlobal('location', { search });
  vi.stubGlobal('navigator', { languages });
  vi.stubGlobal('localStorage', { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => store.set(k, v) });
  vi.stubGlobal('document', { documentElement: { lang: '' } });
  return store;
}

function htmlLang(): string {
  return (document.documentElement as { lang: string }).lang;
}

describe('i18n', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('starts in the first choice that is a language, then the browser (by primary subtag), else Spanish', () => {
    expect(LANGS).toEqual(['es', 'en']);
    expect(initialLang(['en', 'es'], ['es-MX'])).toBe('en');
    expect(initialLang([null, 'en'], ['es-MX'])).toBe('en');
    expect(initialLang(['fr', null], ['fr-FR', 'en-GB'])).toBe('en');
    expect(initialLang([null], ['fr', 'EN-us'])).toBe('en');
    expect(initialLang([], ['es'])).toBe('es');
    expect(initialLang([null, null], ['fr-FR'])).toBe('es');
    expect(initialLang([], [])).toBe('es');
    expect(isLang('en')).toBe(true);
    expect(isLang('EN')).toBe(false);
    expect(isLang(null)).toBe(false);
  });

  it('fills placeholders it is given and leaves the others as written', () => {
    expect(fill('{n} of {max}', { n: 1, max: 2 })).toBe('1 of 2');
    expect(fill('{n} of {max}', { n: 0 })).toBe('0 of {max}');
    expect(fill('{constructor}', {})).toBe('{constructor}');
    expect(fill('{a}{a}', { a: 'x' })).toBe('xx');
  });

  it('looks up in the current language, sets <html lang>, and works without a document', () => {
    const ui = i18n({ en, es });
    expect(ui.lang()).toBe('es');
    expect(ui.t('hello', { name: 'Ana' })).toBe('Hola, Ana');
    ui.setLang('en');
    expect(ui.t('count', { n: 1, max: 2 })).toBe('1 of 2');
    expect(ui.t('plain')).toBe('Plain');
    expect(ui.other()).toBe('es');
    browser('', null, []);
    ui.setLang('es');
    expect(htmlLang()).toBe('es');
    expect(ui.other()).toBe('en');
  });

  it('keeps each page its own state', () => {
    const a = i18n({ en, es });
    const b = i18n({ en, es });
    a.setLang('en');
    expect(a.lang()).toBe('en');
    expect(b.lang()).toBe('es');
  });

  it('starts from the saved choice, then the browser; the URL only when the page asks', () => {
    const ui = i18n({ en, es });
    browser('?lang=en', null, ['es-MX']);
    expect(ui.startLang()).toBe('es');
    expect(ui.startLang({ query: true })).toBe('en');
    expect(htmlLang()).toBe('en');
    browser('?lang=es', 'en', ['es-MX']);
    expect(ui.startLang()).toBe('en');
    expect(ui.startLang({ query: true })).toBe('es');
    browser('', null, ['fr-FR', 'en-GB']);
    expect(ui.startLang({ query: true })).toBe('en');
    browser('?lang=fr', 'de', ['fr']);
    expect(ui.startLang({ query: true })).toBe('es');
  });

  it('switches to the other language and saves it', () => {
    const ui = i18n({ en, es });
    const store = browser('', null, []);
    expect(ui.toggleLang()).toBe('en');
    expect(store.get(LANG_KEY)).toBe('en');
    expect(htmlLang()).toBe('en');
    expect(ui.t('plain')).toBe('Plain');
    expect(ui.toggleLang()).toBe('es');
    expect(store.get(LANG_KEY)).toBe('es');
    expect(LANG_KEY).toBe('urna.lang');
  });
});
