/**
 * The booth vote service's mesa console API (docs/console.md), with the mesa's console token as bearer:
 * `GET /v1/mesas/{mesa}/actas` (figures, members, booths, accepted actas), `POST .../admissions`,
 * `POST .../actas`; and the election's manifest (`GET /v1/election`, public), for the results acta's contests.
 * The page is served at `<root>/mesa/`, so the API is one level up.
 */

import type { ElectionManifest } from '@urna/crypto/manifest';
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

/** `token` null: a public endpoint, asked without the console token. */
async function call<T>(token: string | null, method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
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

/** What the console reads of `GET /v1/election`. */
export interface ElectionInfo {
  electionId: string;
  manifest: ElectionManifest;
}

export const api = {
  election: () => call<ElectionInfo>(null, 'GET', 'v1/election'),
  mesa: (mesa: string, token: string) => call<MesaActas>(token, 'GET', `${mesaPath(mesa)}/actas`),
  admit: (mesa: string, token: string, voterId: string) =>
    call<Admission>(token, 'POST', `${mesaPath(mesa)}/admissions`, { voterId }),
  submitActa: (mesa: string, token: string, acta: SignedActa) =>
    call<ActaStatus>(token, 'POST', `${mesaPath(mesa)}/actas`, acta),
};
