/** Paillier public key, encryption and the checks on values received (docs/protocol.md §2). */

import { EncodingError, fromHex, toHex } from '../math/bytes.js';
import { gcd, mod, Modulus, modulus } from '../math/modular.js';
import { Transcript } from '../transcript.js';

/** Without the Rust `insecure-test-keys` feature every decoder refuses moduli below this. */
export const MIN_MODULUS_BITS = 3072;

export class PublicKey {
  readonly n2: bigint;
  readonly bits: number;
  /** Reduction contexts, built once per key. */
  readonly modN: Modulus;
  readonly modN2: Modulus;

  private constructor(readonly n: bigint) {
    this.n2 = n * n;
    this.bits = n.toString(2).length;
    this.modN = modulus(n);
    this.modN2 = modulus(this.n2);
  }

  /** Checks the modulus: odd, not a perfect square, at least `minBits` bits (3072 unless a test asks for less). */
  static fromModulus(n: bigint, minBits = MIN_MODULUS_BITS): PublicKey {
    const bits = n.toString(2).length;
    if (bits < minBits) {
      throw new EncodingError('paillier.n', `modulus of ${String(bits)} bits is below the minimum of ${String(minBits)}`);
    }
    if (n % 2n === 0n || isqrt(n) ** 2n === n) throw new EncodingError('paillier.n', 'not a product of two distinct odd primes');
    return new PublicKey(n);
  }

  /**
   * Reads `{"n": hex}` (a Paillier public key) or a threshold public key `{"paillier": {"n": hex}, ...}` (the
   * election's key as the vote service and the record publish it).
   */
  static fromJson(json: unknown, minBits = MIN_MODULUS_BITS): PublicKey {
    if (typeof json === 'object' && json !== null) {
      const o = json as Record<string, unknown>;
      if ('paillier' in o) return PublicKey.fromJson(o.paillier, minBits);
      if ('n' in o) return PublicKey.fromModulus(fromHex('paillier.n', o.n), minBits);
    }
    throw new EncodingError('paillier', 'expected {"n": hex} or a threshold key with "paillier"');
  }

  toJson(): { n: string } {
    return { n: toHex(this.n) };
  }

  /** `SHA-256(transcript("paillier-public-key", n))`. */
  fingerprint(): Uint8Array {
    return new Transcript('paillier-public-key').integer(this.n).digest();
  }

  /** `g^m = 1 + m·n mod n²` with `g = n + 1` (m may be negative or above n: it is reduced mod n). */
  gPow(m: bigint): bigint {
    return 1n + mod(m, this.n) * this.n;
  }

  /** `r^n mod n²`: the expensive half of an encryption. */
  nthPower(r: bigint): bigint {
    return this.modN2.pow(r, this.n);
  }

  /** `Enc(m; r) = (1 + m·n)·r^n mod n²` with `r^n` already computed. */
  encryptWith(m: bigint, nonce: PrecomputedNonce): bigint {
    this.checkPlaintext('plaintext', m);
    return this.modN2.mul(this.gPow(m), nonce.rn);
  }

  /** Homomorphic sum of ciphertexts (the identity is 1). */
  addAll(cs: Iterable<bigint>): bigint {
    let acc = 1n;
    for (const c of cs) acc = this.modN2.mul(acc, c);
    return acc;
  }

  /** `0 < c < n²` and `gcd(c, n) = 1`. */
  checkCiphertext(field: string, c: bigint): void {
    checkUnit(field, c, this.n2, this.n);
  }

  checkPlaintext(field: string, m: bigint): void {
    if (m < 0n || m >= this.n) throw new RangeError(`${field}: not in [0, n)`);
  }
}

/** A nonce `r ∈ Z*_n` with `r^n mod n²`: encrypting or committing with it costs one multiplication. */
export interface PrecomputedNonce {
  readonly r: bigint;
  readonly rn: bigint;
}

/** `0 < x < bound` and `gcd(x, n) = 1`: the check every group element from outside goes through. */
export function checkUnit(field: string, x: bigint, bound: bigint, n: bigint): void {
  if (x <= 0n || x >= bound) throw new RangeError(`${field}: not in (0, bound)`);
  if (gcd(x, n) !== 1n) throw new RangeError(`${field}: not a unit (shares a factor with n)`);
}

/** `⌊√x⌋` by Newton's method. */
function isqrt(x: bigint): bigint {
  if (x < 2n) return x;
  let y = 1n << BigInt(Math.ceil(x.toString(2).length / 2));
  for (;;) {
    const next = (y + x / y) >> 1n;
    if (next >= y) return y;
    y = next;
  }
}
