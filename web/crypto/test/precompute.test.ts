import { describe, expect, it } from 'vitest';
import { Precomputer } from '../src/precompute/precomputer.js';
import { productionKey } from './helpers.js';

describe('Precomputer without Web Workers (Node)', () => {
  it('computes on the main thread in steps and hands each nonce out once', async () => {
    const pre = Precomputer.start(productionKey, 3);
    expect(pre.progress()).toMatchObject({ done: 0, total: 3 });
    await pre.whenDone();
    expect(pre.progress().done).toBe(3);
    const nonces = [pre.take(), pre.take(), pre.take()];
    expect(pre.misses).toBe(0);
    for (const n of nonces) expect(productionKey.nthPower(n.r)).toBe(n.rn);
    expect(new Set(nonces.map((n) => n.r)).size).toBe(3);
    pre.take();
    expect(pre.misses).toBe(1);
  }, 60_000);

  it('stops and forgets what it computed', async () => {
    const pre = Precomputer.start(productionKey, 50);
    pre.stop();
    await pre.whenDone();
    expect(pre.available).toBe(0);
  });
});
