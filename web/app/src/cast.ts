/**
 * Casting, resumable: the encrypted ballot and its blinding are saved on the device before the voting right is
 * asked for, so that a network failure, a reload or an expired session never costs the voter the vote and a
 * retry never makes a second one (the service signs the same blinded message again, and an identical package
 * is answered with its first receipt).
 */

import { ballotFromJson, ballotHash, ballotToJson, bytesToHex, type EncryptedBallot, type EncryptedBallotJson, hexToBytes } from '@urna/crypto';
import type { RsaPublicKey } from '@urna/crypto/blind';
import { blind, finalize, prepare, votingRightInfo } from '@urna/crypto/partially-blind';
import { api, type Receipt } from './api.js';

export interface PendingCast {
  electionId: string;
  voterId: string;
  ballot: EncryptedBallotJson;
  prepared: string;
  /** The right's public metadata (election, modality, ballot style): the key it is signed under derives from it. */
  info: string;
  blinded: string;
  inverse: string;
  /** The unblinded signature, once the right was obtained. */
  signature?: string;
}

/** Where pending casts are kept: `localStorage` in the app, a Map in tests. */
export interface Store {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

function key(electionId: string, voterId: string): string {
  return `urna.pending.${electionId}.${voterId}`;
}

export function loadPending(store: Store, electionId: string, voterId: string): PendingCast | undefined {
  const text = store.getItem(key(electionId, voterId));
  if (text === null) return undefined;
  try {
    const p = JSON.parse(text) as PendingCast;
    ballotFromJson(p.ballot);
    hexToBytes('info', p.info);
    return p;
  } catch {
    store.removeItem(key(electionId, voterId));
    return undefined;
  }
}

/**
 * Prepares and blinds the ballot's hash (partially blind RSA, the right bound to the election, the service's
 * modality and the ballot's style: docs/protocol.md §5.3) and saves the result before anything is sent.
 */
export function startCast(store: Store, electionId: string, modality: string, voterId: string, ballot: EncryptedBallot, blindKey: RsaPublicKey): PendingCast {
  const prepared = prepare(ballotHash(ballot));
  const info = votingRightInfo(electionId, modality, ballot.ballotStyle);
  const { blindedMessage, inverse } = blind(blindKey, prepared, info);
  const pending: PendingCast = {
    electionId,
    voterId,
    ballot: ballotToJson(ballot),
    prepared: bytesToHex(prepared),
    info: bytesToHex(info),
    blinded: bytesToHex(blindedMessage),
    inverse: bytesToHex(inverse),
  };
  store.setItem(key(electionId, voterId), JSON.stringify(pending));
  return pending;
}

export type Step = 'right' | 'submit';

/**
 * Finishes a pending cast: the right (unless already obtained), then the anonymous submission. Throws the
 * API's error (with the pending cast still saved) when a step fails.
 */
export async function finishCast(store: Store, pending: PendingCast, token: string | undefined, blindKey: RsaPublicKey, partitions: number, onStep: (s: Step) => void = () => undefined): Promise<Receipt> {
  const prepared = hexToBytes('prepared', pending.prepared);
  if (pending.signature === undefined) {
    onStep('right');
    if (token === undefined) throw new Error('a session is needed to obtain the voting right');
    const { blindSignature } = await api.right(token, pending.blinded, pending.voterId, partitions);
    const signature = finalize(blindKey, prepared, hexToBytes('info', pending.info), hexToBytes('blindSignature', blindSignature), hexToBytes('inverse', pending.inverse));
    pending.signature = bytesToHex(signature);
    store.setItem(key(pending.electionId, pending.voterId), JSON.stringify(pending));
  }
  onStep('submit');
  const receipt = await api.submit({ ballot: pending.ballot, preparedMessage: pending.prepared, signature: pending.signature }, partitions);
  store.removeItem(key(pending.electionId, pending.voterId));
  return receipt;
}
