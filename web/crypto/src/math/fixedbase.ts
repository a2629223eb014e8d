/**
 * Many exponentiations of one base with short exponents (the prover's `r^(e_j) mod n` for every branch `j` of a
 * statement): the powers `base^(2^(w·i))` are computed once, then each exponent costs one multiplication per
 * non-zero `w`-bit digit plus `2^w − 1` (Yao's method), instead of a squaring per bit.
 */

import type { Modulus } from './modular.js';

const W = 4;
const DIGITS = (1 << W) - 1;

export class FixedBase {
  private readonly powers: bigint[] = [];

  constructor(private readonly m: Modulus, base: bigint, maxBits: number) {
    let p = base % m.m;
    for (let i = 0; i * W < maxBits; i++) {
      this.powers.push(p);
      for (let s = 0; s < W; s++) p = m.mul(p, p);
    }
  }

  pow(exp: bigint): bigint {
    if (exp < 0n || exp >= 1n << BigInt(this.powers.length * W)) throw new RangeError('exponent out of the precomputed range');
    const digits = this.powers.map((_, i) => Number((exp >> BigInt(i * W)) & BigInt(DIGITS)));
    let a = 1n;
    let b = 1n;
    for (let d = DIGITS; d >= 1; d--) {
      digits.forEach((digit, i) => {
        if (digit === d) b = this.m.mul(b, this.powers[i] ?? 1n);
      });
      a = this.m.mul(a, b);
    }
    return a % this.m.m;
  }
}
