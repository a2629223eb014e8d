/**
 * "The tuple (c_1..c_m) encrypts one of the tuples V_0..V_{k−1}" (docs/protocol.md §3.2): the 1-of-k proof
 * (m = 1) and the chunk/used link (m = 2), OR-composed.
 */

import { fromHex, toHex } from '../math/bytes.js';
import { FixedBase } from '../math/fixedbase.js';
import { mod } from '../math/modular.js';
import { randomBits } from '../math/random.js';
import type { NonceSource } from '../paillier/pool.js';
import { checkUnit, type PublicKey } from '../paillier/publicKey.js';
import { CHALLENGE_BITS, CHALLENGE_MODULUS, type ProofContext, ProofError, proofTranscript } from './context.js';
import { type Equation, equationHolds } from './equation.js';

const TAG = 'membership-proof';
const NAME = 'membership proof';

export interface MembershipStatement {
  readonly ciphertexts: readonly bigint[];
  /** k tuples of m plaintexts. */
  readonly allowed: readonly (readonly bigint[])[];
}

/** The prover's secret: which tuple is encrypted and the nonce of every ciphertext of the statement. */
export interface MembershipWitness {
  readonly index: number;
  readonly nonces: readonly bigint[];
}

export interface MembershipProof {
  readonly commitments: bigint[][];
  readonly challenges: bigint[];
  readonly responses: bigint[][];
}

export interface MembershipProofJson {
  commitments: string[][];
  challenges: string[];
  responses: string[][];
}

function shape(st: MembershipStatement): [number, number] {
  const m = st.ciphertexts.length;
  const k = st.allowed.length;
  if (m === 0 || k === 0) throw new RangeError('membership statement: no ciphertexts or no allowed values');
  st.allowed.forEach((t, j) => {
    if (t.length !== m) throw new RangeError(`membership statement: allowed[${String(j)}] has ${String(t.length)} values for ${String(m)} ciphertexts`);
  });
  return [k, m];
}

function checkStatement(pk: PublicKey, st: MembershipStatement): [number, number] {
  const km = shape(st);
  st.ciphertexts.forEach((c, l) => { pk.checkCiphertext(`ciphertexts[${String(l)}]`, c); });
  for (const t of st.allowed) for (const v of t) pk.checkPlaintext('allowed value', v);
  return km;
}

function challengeFor(pk: PublicKey, ctx: ProofContext, st: MembershipStatement, commitments: readonly (readonly bigint[])[]): bigint {
  const t = proofTranscript(TAG, ctx, pk);
  t.integer(st.ciphertexts.length).integers(st.ciphertexts);
  t.integer(st.allowed.length);
  for (const tuple of st.allowed) t.integers(tuple);
  for (const row of commitments) t.integers(row);
  return t.challenge();
}

/**
 * Proves the statement. Every `^n` comes from `nonces` (precomputed). A simulated branch `j` is built from a
 * fresh pool nonce `(s, s^n)` as `w = s·r^(e_j) mod n`, `a = s^n · g^((v_j − x)·e_j)` (x the encrypted value):
 * `w` is uniform in `Z*_n` like the textbook simulator's, and `a` is the value the verification equation then
 * fixes, so transcripts are distributed exactly as with `a = w^n·c^(−e_j)·g^(v_j·e_j)`, while the online cost
 * is a 256-bit exponentiation modulo `n` instead of one modulo `n²`.
 */
export function proveMembership(
  pk: PublicKey,
  ctx: ProofContext,
  st: MembershipStatement,
  witness: MembershipWitness,
  nonces: NonceSource,
): MembershipProof {
  const [k, m] = checkStatement(pk, st);
  const truth = st.allowed[witness.index];
  if (truth === undefined || witness.nonces.length !== m) {
    throw new RangeError(`membership witness: index ${String(witness.index)} of ${String(k)} branches, ${String(witness.nonces.length)} nonces for ${String(m)} ciphertexts`);
  }
  const commitments: bigint[][] = [];
  const challenges: bigint[] = [];
  const responses: bigint[][] = [];
  // Every response of component l is t·r_l^(e_j) mod n: one base, k short exponents.
  const rPow = witness.nonces.map((r) => {
    if (k < 3) return (e: bigint) => pk.modN.pow(r, e);
    const table = new FixedBase(pk.modN, r, CHALLENGE_BITS);
    return (e: bigint) => table.pow(e);
  });
  const trueNonces = Array.from({ length: m }, () => nonces.take());
  for (let j = 0; j < k; j++) {
    if (j === witness.index) {
      commitments.push(trueNonces.map((t) => t.rn));
      challenges.push(0n);
      responses.push([]);
      continue;
    }
    const e = randomBits(CHALLENGE_BITS);
    const rowA: bigint[] = [];
    const rowW: bigint[] = [];
    const values = st.allowed[j] ?? [];
    for (let l = 0; l < m; l++) {
      const s = nonces.take();
      const diff = (values[l] ?? 0n) - (truth[l] ?? 0n);
      rowA.push(pk.modN2.mul(s.rn, pk.gPow(diff * e)));
      rowW.push(pk.modN.mul(s.r, (rPow[l] as (e: bigint) => bigint)(e)));
    }
    commitments.push(rowA);
    challenges.push(e);
    responses.push(rowW);
  }
  const e = challengeFor(pk, ctx, st, commitments);
  const others = challenges.reduce((acc, x) => acc + x, 0n);
  const ei = mod(e - others, CHALLENGE_MODULUS);
  challenges[witness.index] = ei;
  responses[witness.index] = trueNonces.map((t, l) => pk.modN.mul(t.r, (rPow[l] as (e: bigint) => bigint)(ei)));
  return { commitments, challenges, responses };
}

/**
 * Shapes, ranges and the challenge sum; returns the `k·m` equations
 * `w_jl^n · g^(v_jl·e_j) = a_jl · c_l^(e_j)` for the exact or the batch check.
 */
export function membershipEquations(pk: PublicKey, ctx: ProofContext, st: MembershipStatement, proof: MembershipProof): Equation[] {
  const [k, m] = checkStatement(pk, st);
  const { commitments, challenges, responses } = proof;
  if (commitments.length !== k || challenges.length !== k || responses.length !== k
    || [...commitments, ...responses].some((row) => row.length !== m)) {
    throw new ProofError(NAME, `proof shape does not match ${String(k)} branches × ${String(m)} ciphertexts`);
  }
  commitments.forEach((row, j) => { row.forEach((a, l) => { checkUnit(`proof.commitments[${String(j)}][${String(l)}]`, a, pk.n2, pk.n); }); });
  responses.forEach((row, j) => { row.forEach((w, l) => { checkUnit(`proof.responses[${String(j)}][${String(l)}]`, w, pk.n, pk.n); }); });
  challenges.forEach((e, j) => {
    if (e < 0n || e >= CHALLENGE_MODULUS) throw new RangeError(`proof.challenges[${String(j)}]: not in [0, 2^256)`);
  });
  const e = challengeFor(pk, ctx, st, commitments);
  if (mod(challenges.reduce((acc, x) => acc + x, 0n), CHALLENGE_MODULUS) !== e) {
    throw new ProofError(NAME, 'branch challenges do not sum to the Fiat-Shamir challenge');
  }
  const out: Equation[] = [];
  for (let j = 0; j < k; j++) {
    const ej = challenges[j] ?? 0n;
    for (let l = 0; l < m; l++) {
      out.push({
        w: responses[j]?.[l] ?? 0n,
        y: mod((st.allowed[j]?.[l] ?? 0n) * ej, pk.n),
        a: commitments[j]?.[l] ?? 0n,
        c: st.ciphertexts[l] ?? 0n,
        e: ej,
      });
    }
  }
  return out;
}

/** The exact verification, every branch on its own; throws naming what fails. */
export function verifyMembership(pk: PublicKey, ctx: ProofContext, st: MembershipStatement, proof: MembershipProof): void {
  membershipEquations(pk, ctx, st, proof).forEach((q, i) => {
    if (!equationHolds(pk, q)) throw new ProofError(NAME, `branch ${String(Math.floor(i / st.ciphertexts.length))}: verification equation does not hold`);
  });
}

export function membershipToJson(p: MembershipProof): MembershipProofJson {
  return {
    commitments: p.commitments.map((row) => row.map(toHex)),
    challenges: p.challenges.map(toHex),
    responses: p.responses.map((row) => row.map(toHex)),
  };
}

export function membershipFromJson(field: string, json: unknown): MembershipProof {
  const o = expectObject(field, json, ['commitments', 'challenges', 'responses']);
  const matrix = (name: string): bigint[][] => expectArray(`${field}.${name}`, o[name]).map((row, j) =>
    expectArray(`${field}.${name}[${String(j)}]`, row).map((x, l) => fromHex(`${field}.${name}[${String(j)}][${String(l)}]`, x)));
  return {
    commitments: matrix('commitments'),
    challenges: expectArray(`${field}.challenges`, o.challenges).map((x, j) => fromHex(`${field}.challenges[${String(j)}]`, x)),
    responses: matrix('responses'),
  };
}

/** Every integer of the proof in ballot-hash order: commitments row by row, challenges, responses row by row. */
export function membershipIntegers(p: MembershipProof): bigint[] {
  return [...p.commitments.flat(), ...p.challenges, ...p.responses.flat()];
}

export function expectObject(field: string, json: unknown, keys: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new RangeError(`${field}: expected an object`);
  const o = json as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!keys.includes(key) && !optional.includes(key)) throw new RangeError(`${field}: unknown field ${JSON.stringify(key)}`);
  }
  for (const key of keys) if (!(key in o)) throw new RangeError(`${field}: missing field ${JSON.stringify(key)}`);
  return o;
}

export function expectArray(field: string, json: unknown): unknown[] {
  if (!Array.isArray(json)) throw new RangeError(`${field}: expected an array`);
  return json as unknown[];
}
