/** The monitor's officer API (`/v1/ops/...`, docs/ops.md), with the officer's bearer token. */

import { parseSse, type Action, type Alert, type Change, type Fleet, type Officer } from './model.js';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** The API's root: the page is served at `<root>/ops/`. */
function url(path: string): string {
  return new URL(`../${path}`, document.baseURI).toString();
}

async function call<T>(token: string, method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${token}` } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  }
  const res = await fetch(url(path), init);
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    json = null;
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(res.status, err?.code ?? 'http', err?.message ?? `HTTP ${String(res.status)}`);
  }
  return json as T;
}

export const api = {
  me: (token: string) => call<Officer>(token, 'GET', 'v1/ops/me'),
  fleet: (token: string) => call<Fleet>(token, 'GET', 'v1/ops/fleet'),
  desk: async (token: string) => (await call<{ alerts: Alert[] }>(token, 'GET', 'v1/ops/desk')).alerts,
  actions: async (token: string) => (await call<{ actions: Action[] }>(token, 'GET', 'v1/ops/actions')).actions,
  alert: (token: string, id: number, action: 'acknowledge' | 'resolve' | 'escalate', note: string) =>
    call<{ alert: Alert }>(token, 'POST', `v1/ops/alerts/${String(id)}/${action}`, { note }),
  device: (token: string, id: string, action: string, note = '') =>
    call<{ action: Action }>(token, 'POST', `v1/ops/devices/${encodeURIComponent(id)}/${action}`, { note }),
};

/**
 * Follows `/v1/ops/events` (fetch, so the token goes in a header, which EventSource cannot send): calls
 * `onChange` per change, `onResync` when the stream says this client fell behind or after a reconnect,
 * `onStatus` with whether it is live. Reconnects after a second when the stream ends. Returns a stop function.
 */
export function follow(
  token: string,
  onChange: (c: Change) => void,
  onResync: () => void,
  onStatus: (live: boolean) => void,
): () => void {
  const abort = new AbortController();
  let first = true;
  const stopped = (): boolean => abort.signal.aborted;
  const run = async (): Promise<void> => {
    while (!stopped()) {
      try {
        const res = await fetch(url('v1/ops/events'), { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
        if (!res.ok || res.body === null) throw new Error(`events: HTTP ${String(res.status)}`);
        onStatus(true);
        if (!first) onResync();
        first = false;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const parsed = parseSse(buffer + value);
          buffer = parsed.rest;
          for (const e of parsed.events) {
            if (e.event === 'resync') onResync();
            else onChange(JSON.parse(e.data) as Change);
          }
        }
      } catch {
        // The stream broke (or the monitor restarted): say so and reconnect below, unless stopped.
      }
      if (stopped()) return;
      onStatus(false);
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  void run();
  return () => { abort.abort(); };
}
