/**
 * The booth vote service's mesa console API (docs/console.md), with the mesa's console token as bearer:
 * `GET /v1/mesas/{mesa}/actas` (figures, members, booths, accepted actas), `POST .../admissions`,
 * `POST .../actas`. The page is served at `<root>/mesa/`, so the API is one level up.
 */

import type { ActaKind, SignedActa } from './acta.js';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export interface Member { id: string; role: 'president' | 'secretary' | 'scrutineer' | 'observer'; publicKey: string }
export interface Booth { id: string; ballots: number }
export interface ActaStatus {
  kind: ActaKind;
  sha256: string;
  signers: string[];
  signedAt: string;
  receivedAt: string;
  logIndex?: number;
  loggedAt?: string;
}

/** `GET /v1/mesas/{mesa}/actas`. */
export interface MesaActas {
  electionId: string;
  closed: boolean;
  admissions: number;
  boothBallots: number;
  auditCodes: string[];
  actas: ActaStatus[];
  district: string;
  members: Member[];
  booths: Booth[];
}

export interface Admission { mesa: string; status: 'admitted' | 'alreadyAdmitted'; admitted: number }

function url(path: string): string {
  return new URL(`../${path}`, document.baseURI).toString();
}

async function call<T>(token: string, method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  const init: RequestInit = { method, headers };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    headers['content-type'] = 'application/json';
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

const mesaPath = (mesa: string) => `v1/mesas/${encodeURIComponent(mesa)}`;

export const api = {
  mesa: (mesa: string, token: string) => call<MesaActas>(token, 'GET', `${mesaPath(mesa)}/actas`),
  admit: (mesa: string, token: string, voterId: string) =>
    call<Admission>(token, 'POST', `${mesaPath(mesa)}/admissions`, { voterId }),
  submitActa: (mesa: string, token: string, acta: SignedActa) =>
    call<ActaStatus>(token, 'POST', `${mesaPath(mesa)}/actas`, acta),
};
