/**
 * The Spanish/English mechanics of Urna's pages: which language to start in, the switch, the lookup with
 * `{name}` placeholders and `<html lang>`. Each page keeps its own words and passes them to `i18n`.
 */

export type Lang = 'es' | 'en';
export const LANGS: readonly Lang[] = ['es', 'en'];

/** The saved choice, one key for every page, so a choice made on one page of an origin holds on the others. */
export const LANG_KEY = 'urna.lang';

/** A page's words: every key in both languages (the type makes a missing one a compile error). */
export type Dicts<K extends string> = Record<Lang, Record<K, string>>;
export type Vars = Record<string, string | number>;

export function isLang(s: string | null | undefined): s is Lang {
  return s === 'es' || s === 'en';
}

/**
 * The language to start in: the first of `choices` that is one (the URL's `?lang=`, then a saved choice), else
 * the browser's first Spanish or English preference (by a tag's primary subtag: `es-MX` is Spanish), else
 * Spanish, the language of the elections Urna runs.
 */
export function initialLang(choices: readonly (string | null)[], browser: readonly string[]): Lang {
  for (const c of choices) if (isLang(c)) return c;
  for (const b of browser) {
    const base = b.toLowerCase().split('-')[0];
    if (isLang(base)) return base;
  }
  return 'es';
}

/** `template` with its `{name}` placeholders filled from `vars`; an unknown one is left as written. */
export function fill(template: string, vars: Vars): string {
  return template.replace(/\{(\w+)\}/g, (m, name: string) => (Object.hasOwn(vars, name) ? String(vars[name]) : m));
}

export interface StartOptions {
  /** Whether `?lang=` in the page's URL comes first (links to the results site can name the language). */
  query?: boolean;
}

/** Function properties, not methods: they close over the state, so destructuring them is safe. */
export interface I18n<K extends string> {
  /** The current language. */
  lang: () => Lang;
  /** The language the switch offers. */
  other: () => Lang;
  /** Sets the current language and `<html lang>` (which screen readers and hyphenation follow). */
  setLang: (l: Lang) => void;
  /** The string `key` in the current language, with `{name}` placeholders filled. */
  t: (key: K, vars?: Vars) => string;
  /** Starts in `initialLang` of the URL (if asked), the saved choice and the browser's languages. */
  startLang: (options?: StartOptions) => Lang;
  /** The switch: the other language, made current and saved. */
  toggleLang: () => Lang;
}

/** A page's language state over its words; a page exports the functions: `export const { lang, t } = i18n({ en, es })`. */
export function i18n<K extends string>(dicts: Dicts<K>): I18n<K> {
  let current: Lang = 'es';
  const lang = (): Lang => current;
  const other = (): Lang => (current === 'es' ? 'en' : 'es');
  const setLang = (l: Lang): void => {
    current = l;
    // Unit tests run without a document.
    if (typeof document !== 'undefined') document.documentElement.lang = l;
  };
  const t = (key: K, vars: Vars = {}): string => fill(dicts[current][key], vars);
  const startLang = (options: StartOptions = {}): Lang => {
    const query = options.query === true ? new URLSearchParams(location.search).get('lang') : null;
    setLang(initialLang([query, localStorage.getItem(LANG_KEY)], navigator.languages));
    return current;
  };
  const toggleLang = (): Lang => {
    setLang(other());
    localStorage.setItem(LANG_KEY, current);
    return current;
  };
  return { lang, other, setLang, t, startLang, toggleLang };
}
