/**
 * Nonces `(r, r^n mod n²)` computed ahead of time (docs/protocol.md §2). Encryption and proving take them
 * from a {@link NonceSource}; when it runs dry a nonce is computed on the spot, so precomputation changes
 * latency, never results. Each nonce is handed out once and then forgotten.
 */

import { randomUnit } from '../math/random.js';
import type { PrecomputedNonce, PublicKey } from './publicKey.js';

export interface NonceSource {
  take(): PrecomputedNonce;
}

export function generateNonce(pk: PublicKey): PrecomputedNonce {
  const r = randomUnit(pk.n);
  return { r, rn: pk.nthPower(r) };
}

/** A simple in-memory pool, filled by whoever computed the nonces (a worker pool, a test, the main thread). */
export class NoncePool implements NonceSource {
  private readonly nonces: PrecomputedNonce[] = [];
  /** Nonces computed on demand because the pool was empty (a sizing check for tests and benchmarks). */
  misses = 0;

  constructor(readonly publicKey: PublicKey) {}

  add(nonces: Iterable<PrecomputedNonce>): void {
    for (const nonce of nonces) this.nonces.push(nonce);
  }

  /** Fills synchronously on the calling thread. */
  fill(count: number): void {
    for (let i = 0; i < count; i++) this.nonces.push(generateNonce(this.publicKey));
  }

  get size(): number {
    return this.nonces.length;
  }

  /** Forgets every nonce not yet taken. */
  clear(): void {
    this.nonces.length = 0;
  }

  take(): PrecomputedNonce {
    const nonce = this.nonces.pop();
    if (nonce !== undefined) return nonce;
    this.misses++;
    return generateNonce(this.publicKey);
  }
}
