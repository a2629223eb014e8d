/**
 * The vote service's HTTP API (workloads/vote/src/openapi.json), on the app's own origin: URLs are relative
 * to the page, so the app works under whatever path an ingress serves it at.
 */

import type { ElectionManifest, EncryptedBallotJson } from '@urna/crypto';
import type { WitnessPolicy } from '@urna/crypto/log';
import { partitionOfSignature, partitionOfVoter, partitionPath } from './partition.js';

export interface ElectionInfo {
  electionId: string;
  manifestHash: string;
  manifest: ElectionManifest;
  publicKey: unknown;
  blindKey: string;
  modality: string;
  closesAt?: string;
  closed: boolean;
  partitions: number;
  /** The audit log's name and Ed25519 key (hex), when the service is configured with them. */
  auditLog?: { origin: string; publicKey: string };
  /**
   * The election's witness policy: the independent witnesses (Ed25519 keys, hex) and how many of them must have
   * cosigned the log's checkpoint; absent when the election declares none.
   */
  witnesses?: WitnessPolicy;
}

export interface SessionResponse {
  token: string;
  expiresInSeconds: number;
  ballotStyle: string;
  rightIssued: boolean;
}

export interface Receipt {
  anonId: string;
  logIndex: number;
}

export interface BallotPackage {
  ballot: EncryptedBallotJson;
  preparedMessage: string;
  signature: string;
}

/** An answer that is not a success: the service's error code (or `network` when it could not be reached). */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly field?: string) {
    super(message);
    this.name = 'ApiError';
  }
}

function url(path: string): string {
  return new URL(path, document.baseURI).toString();
}

async function call<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(url(path), { method, headers, body: body === undefined ? null : JSON.stringify(body), cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'network', e instanceof Error ? e.message : String(e));
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const err = (json as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error;
    throw new ApiError(response.status, err?.code ?? `http_${String(response.status)}`, err?.message ?? text.slice(0, 200), err?.field);
  }
  return json as T;
}

// Sessions and rights go to the voter's partition (a session token is known only there), ballots to their
// signature's; `partitions` is the election info's count.
export const api = {
  election: () => call<ElectionInfo>('GET', 'v1/election'),
  session: (voterId: string, credential: string, partitions: number) =>
    call<SessionResponse>('POST', partitionPath('v1/sessions', partitionOfVoter(voterId, partitions), partitions), { voterId, credential }),
  right: (token: string, blindedMessage: string, voterId: string, partitions: number) =>
    call<{ blindSignature: string }>('POST', partitionPath('v1/rights', partitionOfVoter(voterId, partitions), partitions), { blindedMessage }, token),
  submit: (pkg: BallotPackage, partitions: number) =>
    call<Receipt>('POST', partitionPath('v1/ballots', partitionOfSignature(pkg.signature, partitions), partitions), pkg),
  checkpoint: () => call<unknown>('GET', 'audit/v1/checkpoint'),
  inclusion: (leafHash: string, size: number) => call<unknown>('GET', `audit/v1/proof/inclusion?leaf_hash=${leafHash}&size=${String(size)}`),
};
