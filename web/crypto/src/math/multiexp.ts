/**
 * `Π bases[i]^exps[i] mod m` by Pippenger's bucket method: one pass of squarings for the longest exponent and,
 * per window of `c` bits, one multiplication per base plus `2^(c+1)` to fold the buckets. Batch verification
 * uses it with many bases and short (128-bit) random exponents, where it is far cheaper than one
 * exponentiation per base.
 */

import type { Modulus } from './modular.js';

export function multiExp(m: Modulus, bases: readonly bigint[], exps: readonly bigint[]): bigint {
  if (bases.length !== exps.length) throw new RangeError('multiExp: bases and exponents differ in number');
  if (bases.length === 0) return 1n % m.m;
  if (bases.length < 4) return bases.reduce((acc, b, i) => m.mul(acc, m.pow(b, exps[i] ?? 0n)), 1n % m.m);
  const maxBits = exps.reduce((mx, e) => Math.max(mx, e.toString(2).length), 0);
  const c = Math.max(2, Math.min(12, Math.floor(Math.log2(bases.length)) - 1));
  const windows = Math.ceil(maxBits / c);
  const mask = (1n << BigInt(c)) - 1n;
  let acc = 1n;
  for (let win = windows - 1; win >= 0; win--) {
    if (win !== windows - 1) for (let s = 0; s < c; s++) acc = m.mul(acc, acc);
    const buckets = new Array<bigint | undefined>(1 << c);
    const shift = BigInt(win * c);
    for (let i = 0; i < bases.length; i++) {
      const d = Number(((exps[i] ?? 0n) >> shift) & mask);
      if (d === 0) continue;
      const b = bases[i] ?? 1n;
      const cur = buckets[d];
      buckets[d] = cur === undefined ? b : m.mul(cur, b);
    }
    // Σ d·bucket[d] in the exponent: running product from the top bucket down.
    let running: bigint | undefined;
    let sum: bigint | undefined;
    for (let d = (1 << c) - 1; d >= 1; d--) {
      const bucket = buckets[d];
      if (bucket !== undefined) running = running === undefined ? bucket : m.mul(running, bucket);
      if (running !== undefined) sum = sum === undefined ? running : m.mul(sum, running);
    }
    if (sum !== undefined) acc = m.mul(acc, sum);
  }
  return acc;
}
