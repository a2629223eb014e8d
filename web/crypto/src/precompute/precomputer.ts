/**
 * Background precomputation of the nonces a ballot needs (docs/protocol.md §2), so that encrypting and proving
 * after the voter presses "encrypt" take only short exponentiations.
 *
 * `Precomputer.start(publicKey, count)` spreads `count` `r^n mod n²` exponentiations over a pool of Web
 * Workers (by default one per core, at most 4 and never the whole machine) while the voter reads the ballot;
 * `progress()` reports how far it is and `take()` hands out a finished nonce, computing one on the spot when
 * none is ready. Where Workers do not exist (Node tests, old browsers) it computes on the main thread in small
 * steps between tasks.
 */

import { fromHex, toHex } from '../math/bytes.js';
import { generateNonce, NoncePool, type NonceSource } from '../paillier/pool.js';
import type { PrecomputedNonce, PublicKey } from '../paillier/publicKey.js';
import type { WorkRequest, WorkResult } from './messages.js';

export interface PrecomputerOptions {
  /** Number of workers; default: `navigator.hardwareConcurrency − 1`, between 1 and 4. */
  workers?: number;
  /**
   * Creates one worker running `@urna/crypto/worker`. The default works with bundlers that understand
   * `new Worker(new URL(...), import.meta.url)` (Vite, webpack 5, esbuild with a plugin).
   */
  createWorker?: () => Worker;
}

export interface Progress {
  /** Nonces computed so far (including those already taken). */
  done: number;
  /** Nonces asked for. */
  total: number;
  /** Milliseconds since start, until the last one finished. */
  elapsedMs: number;
}

function defaultWorkerCount(): number {
  const cores = typeof navigator === 'undefined' ? 2 : navigator.hardwareConcurrency;
  return Math.max(1, Math.min(4, cores - 1));
}

function defaultCreateWorker(): Worker {
  return new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'urna-precompute' });
}

export class Precomputer implements NonceSource {
  private readonly ready: NoncePool;
  private readonly workers: Worker[] = [];
  private readonly waiters: (() => void)[] = [];
  private done = 0;
  private readonly started = performance.now();
  private finishedAt: number | undefined;
  private stopped = false;
  private constructor(readonly publicKey: PublicKey, readonly total: number) {
    this.ready = new NoncePool(publicKey);
  }

  /** Nonces taken before they were precomputed (each cost a full exponentiation on the calling thread). */
  get misses(): number {
    return this.ready.misses;
  }

  /** Starts computing `count` nonces for `publicKey` in the background. */
  static start(publicKey: PublicKey, count: number, options: PrecomputerOptions = {}): Precomputer {
    const p = new Precomputer(publicKey, count);
    if (count <= 0) {
      p.finishedAt = p.started;
      return p;
    }
    const workers = typeof Worker === 'undefined' ? 0 : Math.max(1, Math.min(count, options.workers ?? defaultWorkerCount()));
    if (workers === 0) {
      p.computeOnMainThread();
      return p;
    }
    const create = options.createWorker ?? defaultCreateWorker;
    const n = toHex(publicKey.n);
    for (let i = 0; i < workers; i++) {
      const share = Math.floor(count / workers) + (i < count % workers ? 1 : 0);
      const worker = create();
      worker.onmessage = (event: MessageEvent<WorkResult>) => {
        p.accept({ r: fromHex('r', event.data.r), rn: fromHex('rn', event.data.rn) });
      };
      worker.onerror = (event) => {
        event.preventDefault();
        // A worker that fails (blocked by a content policy, out of memory) is replaced by the main thread, in
        // small steps, until the total is reached; the other workers carry on.
        worker.terminate();
        p.computeOnMainThread();
      };
      const request: WorkRequest = { n, count: share };
      worker.postMessage(request);
      p.workers.push(worker);
    }
    return p;
  }

  private mainThreadRunning = false;

  private computeOnMainThread(): void {
    if (this.mainThreadRunning) return;
    this.mainThreadRunning = true;
    const step = (): void => {
      if (this.stopped || this.done >= this.total) return;
      this.accept(generateNonce(this.publicKey));
      setTimeout(step, 0);
    };
    setTimeout(step, 0);
  }

  private accept(nonce: PrecomputedNonce): void {
    if (this.stopped) return;
    this.ready.add([nonce]);
    this.done++;
    if (this.done >= this.total) this.finish();
  }

  private finish(): void {
    this.finishedAt ??= performance.now();
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  progress(): Progress {
    return { done: this.done, total: this.total, elapsedMs: (this.finishedAt ?? performance.now()) - this.started };
  }

  /** Resolves when every requested nonce is computed (or the workers failed or were stopped). */
  whenDone(): Promise<void> {
    if (this.finishedAt !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Nonces ready to use. */
  get available(): number {
    return this.ready.size;
  }

  /** A precomputed nonce, or one computed now when none is ready. Each nonce is handed out once. */
  take(): PrecomputedNonce {
    return this.ready.take();
  }

  /** Stops the workers and forgets every nonce not yet taken. */
  stop(): void {
    this.stopped = true;
    this.ready.clear();
    this.finish();
  }
}
