/**
 * Modular arithmetic on native BigInt for public-key sizes (3072-bit n, 6144-bit n²).
 *
 * Exponentiation is left-to-right sliding-window over the exponent's bits with a table of odd powers.
 * Reductions use Barrett's method with the constant precomputed per modulus ({@link Modulus}): V8's BigInt
 * division is slower than two multiplications and a shift at these sizes (measured by `npm run bench:modexp`;
 * docs/performance.md). Montgomery form was measured too and is no faster here, because V8 has no truncated
 * multiplication, so it costs three full products like Barrett while needing conversions in and out.
 *
 * Everything here is variable-time: it is used with public operands (verification, `r^n` of a fresh nonce
 * whose only secret is `r` itself, as in the Rust implementation's GMP `powm`). RSA private operations are
 * not done in the browser.
 */

export function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

export function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** The inverse of `a` modulo `m`, or `undefined` when `gcd(a, m) ≠ 1`. */
export function modInverse(a: bigint, m: bigint): bigint | undefined {
  let [oldR, r] = [mod(a, m), m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return oldR === 1n ? mod(oldS, m) : undefined;
}

/** A modulus with its Barrett constant, for repeated reductions of products below `m²`. */
export class Modulus {
  readonly bits: bigint;
  private readonly mu: bigint;
  private readonly shiftLow: bigint;
  private readonly shiftHigh: bigint;

  constructor(readonly m: bigint) {
    if (m <= 1n) throw new RangeError('modulus must exceed 1');
    const k = BigInt(m.toString(2).length);
    this.bits = k;
    this.mu = (1n << (2n * k)) / m;
    this.shiftLow = k - 1n;
    this.shiftHigh = k + 1n;
  }

  /** `x mod m` for `0 ≤ x < m²` (Barrett: at most two corrective subtractions). */
  reduce(x: bigint): bigint {
    const q = ((x >> this.shiftLow) * this.mu) >> this.shiftHigh;
    let r = x - q * this.m;
    while (r >= this.m) r -= this.m;
    return r;
  }

  mul(a: bigint, b: bigint): bigint {
    return this.reduce(a * b);
  }

  /** `base^exp mod m`, `exp ≥ 0`, sliding window. */
  pow(base: bigint, exp: bigint): bigint {
    if (exp < 0n) throw new RangeError('negative exponent');
    const m = this.m;
    let b = base % m;
    if (b < 0n) b += m;
    if (exp === 0n) return 1n % m;
    const bits = exp.toString(2);
    const len = bits.length;
    const w = windowFor(len);
    const table: bigint[] = [b];
    if (w > 1) {
      const b2 = this.mul(b, b);
      for (let i = 1; i < 1 << (w - 1); i++) table.push(this.mul(table[i - 1] ?? 1n, b2));
    }
    let result = 1n;
    let started = false;
    let i = 0;
    while (i < len) {
      if (bits[i] === '0') {
        if (started) result = this.mul(result, result);
        i++;
        continue;
      }
      let j = Math.min(i + w, len);
      while (bits[j - 1] === '0') j--;
      const window = parseInt(bits.slice(i, j), 2);
      if (started) for (let k = i; k < j; k++) result = this.mul(result, result);
      const odd = table[(window - 1) >> 1] ?? 1n;
      result = started ? this.mul(result, odd) : odd;
      started = true;
      i = j;
    }
    return result;
  }
}

/** Window width minimising squarings + table + multiplications for an exponent of `bits` bits. */
function windowFor(bits: number): number {
  if (bits > 1200) return 6;
  if (bits > 400) return 5;
  if (bits > 120) return 4;
  if (bits > 30) return 3;
  return bits > 6 ? 2 : 1;
}

const moduli = new Map<bigint, Modulus>();

/** The cached {@link Modulus} for `m` (a handful of moduli are used: n, n², RSA n). */
export function modulus(m: bigint): Modulus {
  let cached = moduli.get(m);
  if (cached === undefined) {
    if (moduli.size > 64) moduli.clear();
    cached = new Modulus(m);
    moduli.set(m, cached);
  }
  return cached;
}

export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  return modulus(m).pow(base, exp);
}

/** `base^exp mod m` by plain square-and-multiply with `%`: the reference the fast path is tested against. */
export function modPowReference(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n % m;
  let b = mod(base, m);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return result;
}
