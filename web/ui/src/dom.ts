/**
 * A tiny DOM builder shared by Urna's pages: each is a handful of forms, lists and tables, so no UI library is
 * needed, and what runs in a voter's browser stays small enough to read.
 */

export type Child = Node | string | null | undefined | false;
export type Children = (Child | Child[])[];
export type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/**
 * An element with attributes and children. `on<event>` attributes that are functions become listeners; `true`
 * is an empty attribute; `null`, `undefined` and `false` leave it out (so optional attributes read inline).
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Children): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

/** Appends children, flattening arrays and skipping the empty ones, so `cond ? node : null` reads inline. */
export function append(el: Node, children: Children): void {
  for (const c of children) {
    if (Array.isArray(c)) append(el, c);
    else if (c === null || c === undefined || c === false) continue;
    else el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  }
}

/** Replaces the main region's content and moves focus to its heading, so a screen reader announces the step. */
export function show(main: HTMLElement, ...children: Children): void {
  main.replaceChildren();
  append(main, children);
  const heading = main.querySelector('h1, h2');
  if (heading instanceof HTMLElement) {
    heading.tabIndex = -1;
    heading.focus();
  }
}

/** Offers `text` as a file download named `name`. */
export function download(name: string, text: string, type = 'application/json'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name });
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Revoked later, not at once: some browsers start reading the blob only after the click has returned.
  setTimeout(() => { URL.revokeObjectURL(url); }, 10_000);
}

/** Groups a long hex string in fours, so a person can read it aloud and compare it. */
export function grouped(hex: string): string {
  return hex.replace(/(.{4})(?=.)/g, '$1 ');
}
