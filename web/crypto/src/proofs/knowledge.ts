/** Knowledge of plaintext and randomness (docs/protocol.md §3.1), used for write-in names only. */

import { fromHex, toHex } from '../math/bytes.js';
import { randomBelow } from '../math/random.js';
import type { NonceSource } from '../paillier/pool.js';
import { checkUnit, type PublicKey } from '../paillier/publicKey.js';
import { type ProofContext, ProofError, proofTranscript } from './context.js';
import { type Equation, equationHolds } from './equation.js';
import { expectObject } from './membership.js';

const TAG = 'knowledge-proof';
const NAME = 'knowledge proof';

export interface KnowledgeProof {
  readonly commitment: bigint;
  readonly z: bigint;
  readonly w: bigint;
}

function challengeFor(pk: PublicKey, ctx: ProofContext, c: bigint, a: bigint): bigint {
  return proofTranscript(TAG, ctx, pk).integer(c).integer(a).challenge();
}

/** `a = (1 + s·n)·t^n`, `e = H(...)`, `z = s + e·x mod n`, `w = t·r^e mod n`. */
export function proveKnowledge(pk: PublicKey, ctx: ProofContext, c: bigint, x: bigint, r: bigint, nonces: NonceSource): KnowledgeProof {
  pk.checkCiphertext('ciphertext', c);
  pk.checkPlaintext('plaintext', x);
  const s = randomBelow(pk.n);
  const t = nonces.take();
  const commitment = pk.modN2.mul(pk.gPow(s), t.rn);
  const e = challengeFor(pk, ctx, c, commitment);
  return { commitment, z: (s + e * x) % pk.n, w: pk.modN.mul(t.r, pk.modN.pow(r, e)) };
}

/** Range checks and the challenge; the equation `w^n · g^z = a · c^e`. */
export function knowledgeEquation(pk: PublicKey, ctx: ProofContext, c: bigint, proof: KnowledgeProof): Equation {
  pk.checkCiphertext('ciphertext', c);
  checkUnit('proof.commitment', proof.commitment, pk.n2, pk.n);
  if (proof.z < 0n || proof.z >= pk.n) throw new RangeError('proof.z: not in [0, n)');
  checkUnit('proof.w', proof.w, pk.n, pk.n);
  return { w: proof.w, y: proof.z, a: proof.commitment, c, e: challengeFor(pk, ctx, c, proof.commitment) };
}

export function verifyKnowledge(pk: PublicKey, ctx: ProofContext, c: bigint, proof: KnowledgeProof): void {
  if (!equationHolds(pk, knowledgeEquation(pk, ctx, c, proof))) throw new ProofError(NAME, 'verification equation does not hold');
}

export function knowledgeToJson(p: KnowledgeProof): { commitment: string; z: string; w: string } {
  return { commitment: toHex(p.commitment), z: toHex(p.z), w: toHex(p.w) };
}

export function knowledgeFromJson(field: string, json: unknown): KnowledgeProof {
  const o = expectObject(field, json, ['commitment', 'z', 'w']);
  return { commitment: fromHex(`${field}.commitment`, o.commitment), z: fromHex(`${field}.z`, o.z), w: fromHex(`${field}.w`, o.w) };
}
