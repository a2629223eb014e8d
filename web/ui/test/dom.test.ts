import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { append, download, grouped, h, show } from '../src/dom.js';
import { fake, type FakeElement, fakeDocument, installFakeDom } from './fake-dom.js';

describe('dom', () => {
  beforeAll(() => {
    installFakeDom();
  });
  afterAll(() => {
    Reflect.deleteProperty(globalThis, 'document');
    Reflect.deleteProperty(globalThis, 'HTMLElement');
  });

  it('builds an element: string attributes, `true` as empty, left out when null, undefined or false, listeners', () => {
    const onclick = vi.fn();
    const el = fake(h('button', { class: 'primary', rows: 2, required: true, hidden: false, title: null, lang: undefined, onclick }, 'Go'));
    expect(el.tagName).toBe('BUTTON');
    expect([...el.attributes]).toEqual([['class', 'primary'], ['rows', '2'], ['required', '']]);
    el.dispatch('click');
    expect(onclick).toHaveBeenCalledTimes(1);
    expect(el.textContent).toBe('Go');
  });

  it('appends children, flattening arrays and skipping null, undefined and false', () => {
    const ul = h('ul', {}, [h('li', {}, 'a'), null], false, undefined, 'b', [h('li', {}, 'c')]);
    expect(fake(ul).childNodes.map((c) => c.textContent)).toEqual(['a', 'b', 'c']);
    append(ul, [h('li', {}, 'd'), null]);
    expect(ul.textContent).toBe('abcd');
  });

  it('shows a step: replaces the content and focuses its first heading', () => {
    const main = h('main', {}, h('p', {}, 'old'));
    show(main, h('div', {}, h('h2', {}, 'Step')), h('p', {}, 'new'));
    expect(main.textContent).toBe('Stepnew');
    const heading = fake(main.querySelector('h1, h2'));
    expect(heading.tabIndex).toBe(-1);
    expect(fakeDocument.activeElement).toBe(heading);
  });

  it('offers a download through a clicked link, removed afterwards', () => {
    vi.useFakeTimers();
    const revoke = vi.spyOn(URL, 'revokeObjectURL');
    const created: FakeElement[] = [];
    const create = fakeDocument.createElement;
    fakeDocument.createElement = (tag: string) => {
      const el = create(tag);
      created.push(el);
      return el;
    };
    try {
      download('receipt.json', '{}');
      const a = created[0]!;
      expect(a.getAttribute('download')).toBe('receipt.json');
      expect(a.getAttribute('href')).toMatch(/^blob:/);
      expect(a.clicked).toBe(1);
      expect(fakeDocument.body.childNodes).toEqual([]);
      vi.advanceTimersByTime(10_000);
      expect(revoke).toHaveBeenCalledWith(a.getAttribute('href'));
    } finally {
      fakeDocument.createElement = create;
      vi.useRealTimers();
    }
  });

  it('groups hex in fours', () => {
    expect(grouped('0123456789abcdef01')).toBe('0123 4567 89ab cdef 01');
    expect(grouped('0123')).toBe('0123');
    expect(grouped('')).toBe('');
  });
});
