/**
 * Randomness, only from `crypto.getRandomValues` (the browser's and Node's CSPRNG). Integers in a range are
 * drawn by rejection, never by reducing modulo the bound, so there is no modulo bias.
 */

import { bytesToBigint } from './bytes.js';
import { gcd } from './modular.js';

/** getRandomValues fills at most 65536 bytes per call. */
const MAX_CHUNK = 65536;

export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += MAX_CHUNK) {
    crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + MAX_CHUNK)));
  }
  return out;
}

/** A uniform integer of `bits` random bits (the top bit may be zero). */
export function randomBits(bits: number): bigint {
  const bytes = randomBytes(Math.ceil(bits / 8));
  const extra = bytes.length * 8 - bits;
  if (extra > 0 && bytes.length > 0) bytes[0] = (bytes[0] ?? 0) & (0xff >> extra);
  return bytesToBigint(bytes);
}

/** Uniform in `[0, bound)` by rejection sampling (fewer than two draws expected). */
export function randomBelow(bound: bigint): bigint {
  if (bound <= 0n) throw new RangeError('bound must be positive');
  const bits = bound.toString(2).length;
  for (;;) {
    const x = randomBits(bits);
    if (x < bound) return x;
  }
}

/** Uniform in `Z*_n`. */
export function randomUnit(n: bigint): bigint {
  for (;;) {
    const x = randomBelow(n);
    if (x !== 0n && gcd(x, n) === 1n) return x;
  }
}
