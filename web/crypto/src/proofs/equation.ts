/**
 * One verification equation `w^n · g^y = a · c^e (mod n²)`, compared squared (docs/protocol.md §3.4: the
 * squares hide the four elements of order ≤ 2 of `Z*_{n²}`, so that the exact and the batch verifier accept
 * the same proofs).
 */

import { randomBits } from '../math/random.js';
import { multiExp } from '../math/multiexp.js';
import type { PublicKey } from '../paillier/publicKey.js';

export interface Equation {
  readonly w: bigint;
  readonly y: bigint;
  readonly a: bigint;
  readonly c: bigint;
  readonly e: bigint;
}

function squaresEqual(pk: PublicKey, lhs: bigint, rhs: bigint): boolean {
  return pk.modN2.mul(lhs, lhs) === pk.modN2.mul(rhs, rhs);
}

/** The exact check: one full and one 256-bit exponentiation. */
export function equationHolds(pk: PublicKey, q: Equation): boolean {
  const lhs = pk.modN2.mul(pk.nthPower(q.w), pk.gPow(q.y));
  const rhs = pk.modN2.mul(q.a, pk.modN2.pow(q.c, q.e));
  return squaresEqual(pk, lhs, rhs);
}

/**
 * All equations at once with fresh 128-bit weights `ρ_q` (Bellare–Garay–Rabin small-exponent test, error
 * `2^-128`): `((Π w_q^ρ_q)^n · g^(Σ ρ_q·y_q))² = (Π a_q^ρ_q · Π_c c^(Σ_{q on c} ρ_q·e_q))²`. The `w_q` are
 * below `n`, so their product is taken mod `n` before the one full exponentiation (`(w + kn)^n ≡ w^n`).
 */
export function equationsHold(pk: PublicKey, qs: readonly Equation[]): boolean {
  if (qs.length === 0) return true;
  if (qs.length === 1) return equationHolds(pk, qs[0] as Equation);
  const rho = qs.map(() => randomBits(128));
  const w = multiExp(pk.modN, qs.map((q) => q.w), rho);
  let y = 0n;
  const perCiphertext = new Map<bigint, bigint>();
  qs.forEach((q, i) => {
    const r = rho[i] ?? 0n;
    y += r * q.y;
    perCiphertext.set(q.c, (perCiphertext.get(q.c) ?? 0n) + r * q.e);
  });
  const lhs = pk.modN2.mul(pk.nthPower(w), pk.gPow(y));
  const a = multiExp(pk.modN2, qs.map((q) => q.a), rho);
  const c = multiExp(pk.modN2, [...perCiphertext.keys()], [...perCiphertext.values()]);
  return squaresEqual(pk, lhs, pk.modN2.mul(a, c));
}
