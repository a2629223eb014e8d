/**
 * Just enough of a document for the DOM builder's tests, which run under Node: elements with attributes,
 * listeners, children, text, focus and a heading lookup. Installed on globalThis by `installFakeDom`.
 */

export class FakeNode {
  parent: FakeElement | null = null;
  childNodes: FakeNode[] = [];
  get textContent(): string {
    return this.childNodes.map((c) => c.textContent).join('');
  }
  appendChild(c: FakeNode): FakeNode {
    c.parent?.removeChild(c);
    c.parent = this as unknown as FakeElement;
    this.childNodes.push(c);
    return c;
  }
  removeChild(c: FakeNode): void {
    this.childNodes = this.childNodes.filter((x) => x !== c);
    c.parent = null;
  }
}

export class FakeText extends FakeNode {
  constructor(readonly data: string) {
    super();
  }
  override get textContent(): string {
    return this.data;
  }
}

export class FakeElement extends FakeNode {
  readonly attributes = new Map<string, string>();
  readonly listeners = new Map<string, EventListener[]>();
  tabIndex = 0;
  clicked = 0;
  constructor(readonly tagName: string) {
    super();
  }
  setAttribute(name: string, value: string): void {
    this.attributes.set(name, value);
  }
  getAttribute(name: string): string | null {
    return this.attributes.get(name) ?? null;
  }
  addEventListener(type: string, fn: EventListener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  dispatch(type: string): void {
    for (const fn of this.listeners.get(type) ?? []) fn({ type } as Event);
  }
  replaceChildren(): void {
    for (const c of [...this.childNodes]) this.removeChild(c);
  }
  querySelector(selector: string): FakeElement | null {
    const tags = selector.split(',').map((s) => s.trim().toUpperCase());
    for (const c of this.childNodes) {
      if (!(c instanceof FakeElement)) continue;
      if (tags.includes(c.tagName)) return c;
      const inner = c.querySelector(selector);
      if (inner) return inner;
    }
    return null;
  }
  focus(): void {
    fakeDocument.activeElement = this;
  }
  click(): void {
    this.clicked += 1;
  }
  remove(): void {
    this.parent?.removeChild(this);
  }
}

export const fakeDocument = {
  activeElement: null as FakeElement | null,
  body: new FakeElement('BODY'),
  documentElement: new FakeElement('HTML'),
  createElement: (tag: string) => new FakeElement(tag.toUpperCase()),
  createTextNode: (data: string) => new FakeText(data),
};

export function installFakeDom(): void {
  Object.assign(globalThis, { document: fakeDocument, HTMLElement: FakeElement });
}

export function fake(node: unknown): FakeElement {
  if (!(node instanceof FakeElement)) throw new Error('not a fake element');
  return node;
}
