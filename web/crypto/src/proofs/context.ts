/** The Fiat-Shamir context every proof transcript opens with (docs/protocol.md §1, "Proof context"). */

import type { PublicKey } from '../paillier/publicKey.js';
import { Transcript } from '../transcript.js';

/** Width of every challenge: a SHA-256 digest read as an integer. */
export const CHALLENGE_BITS = 256;
export const CHALLENGE_MODULUS = 1n << 256n;

export interface ProofContext {
  readonly electionId: string;
  /** The manifest hash, 32 raw bytes. */
  readonly manifestHash: Uint8Array;
  /** `<contest>/<label>` for ballots (docs/protocol.md §4.3). */
  readonly contestId: string;
  /** The voter's district id. */
  readonly ballotStyle: string;
}

/** `tag, election_id, manifest_hash, contest_id, ballot_style, n`: the opening of every proof transcript. */
export function proofTranscript(tag: string, ctx: ProofContext, pk: PublicKey): Transcript {
  return new Transcript(tag)
    .string(ctx.electionId)
    .bytes(ctx.manifestHash)
    .string(ctx.contestId)
    .string(ctx.ballotStyle)
    .integer(pk.n);
}

export class ProofError extends Error {
  constructor(readonly proof: string, reason: string) {
    super(`${proof} rejected: ${reason}`);
    this.name = 'ProofError';
  }
}
