/**
 * The browser benchmark (docs/performance.md, "Voter app crypto"): for the federal example's Jalisco ballot
 * (president, senate, governor, with coalitions) at 3072 bits, the background precomputation with 1 and 2
 * workers, the online time from "encrypt" to a complete proved ballot, and the raw exponentiation rate.
 */

import { BallotCodec, type Selection } from '../src/ballot/codec.js';
import { ballotHash } from '../src/ballot/encrypted.js';
import { Modulus } from '../src/math/modular.js';
import { randomBits, randomUnit } from '../src/math/random.js';
import { NoncePool } from '../src/paillier/pool.js';
import type { PrecomputedNonce } from '../src/paillier/publicKey.js';
import { Precomputer } from '../src/precompute/precomputer.js';
import { createWorker, loadElection } from './support.js';

const STYLE = 'jalisco';
const SELECTIONS: Selection[] = [
  { contestId: 'president', choices: ['pan', 'pri'] },
  { contestId: 'senate-jalisco', choices: ['morena'] },
  { contestId: 'governor-jalisco', choices: ['mc'] },
];

/** `x mod m` with V8's division, to compare with Barrett. */
class DivisionModulus extends Modulus {
  override reduce(x: bigint): bigint {
    return x % this.m;
  }
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

async function precompute(codec: BallotCodec, workers: number): Promise<{ nonces: number; ms: number; nonces_list: PrecomputedNonce[] }> {
  const need = codec.noncesNeeded(STYLE);
  const pre = Precomputer.start(codec.publicKey, need, { workers, createWorker });
  await pre.whenDone();
  const list = Array.from({ length: need }, () => pre.take());
  if (pre.misses !== 0) throw new Error('precomputation incomplete');
  return { nonces: need, ms: pre.progress().elapsedMs, nonces_list: list };
}

async function bench(runs: number) {
  const { pk, codec } = await loadElection('federal');
  const one = await precompute(codec, 1);
  const two = await precompute(codec, 2);
  // Online: each run gets a pool refilled from one precomputed set. Reusing nonces across runs is harmless here
  // (nothing is cast) and keeps the benchmark's timing independent of the precomputation.
  const online: number[] = [];
  for (let i = 0; i < runs; i++) {
    const pool = new NoncePool(pk);
    pool.add(two.nonces_list);
    const t = performance.now();
    const { ballot } = codec.encryptBallot(STYLE, SELECTIONS, pool);
    ballotHash(ballot);
    online.push(performance.now() - t);
    if (pool.misses !== 0) throw new Error('online run computed a nonce');
  }
  const verifyStart = performance.now();
  const { ballot } = codec.encryptBallot(STYLE, SELECTIONS, (() => { const p = new NoncePool(pk); p.add(two.nonces_list); return p; })());
  codec.verifyBallot(ballot);
  const verifyMs = performance.now() - verifyStart;
  // Raw r^n mod n² (3072-bit exponent, 6144-bit modulus), Barrett and plain division.
  const rs = Array.from({ length: 8 }, () => randomUnit(pk.n));
  const time = (m: Modulus) => { const t = performance.now(); for (const r of rs) m.pow(r, pk.n); return (performance.now() - t) / rs.length; };
  const barrettMs = time(new Modulus(pk.n2));
  const divisionMs = time(new DivisionModulus(pk.n2));
  const short = Array.from({ length: 20 }, () => randomBits(256));
  const t = performance.now();
  for (const e of short) pk.modN.pow(rs[0] ?? 2n, e);
  const shortMs = (performance.now() - t) / short.length;
  return {
    userAgent: navigator.userAgent,
    hardwareConcurrency: navigator.hardwareConcurrency,
    ballot: { style: STYLE, contests: codec.styleContests(STYLE).map((c) => c.contest.id), nonces: one.nonces },
    precompute: { oneWorkerMs: one.ms, twoWorkersMs: two.ms },
    online: { runs, p50Ms: percentile(online, 50), p95Ms: percentile(online, 95), minMs: Math.min(...online), maxMs: Math.max(...online) },
    verifyBallotMs: verifyMs,
    modexp: { nthPowerMs: barrettMs, nthPowerPerSecond: 1000 / barrettMs, nthPowerDivisionMs: divisionMs, pow256ModNMs: shortMs },
  };
}

Object.assign(globalThis, { bench, urnaReady: true });
