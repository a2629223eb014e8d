import { describe, expect, it } from 'vitest';
import { BallotCodec } from '../src/ballot/codec.js';
import type { ElectionManifest } from '../src/ballot/manifest.js';
import { NoncePool } from '../src/paillier/pool.js';
import { productionKey } from './helpers.js';

const manifest: ElectionManifest = {
  electionId: 'smoke', title: 'Smoke', slotBits: 20,
  districts: [{ id: 'mx', name: 'MX' }],
  contests: [
    { id: 'q', title: 'Q', kind: 'singleChoice', districts: ['mx'], parties: [{ id: 'a', name: 'A' }, { id: 'b', name: 'B' }], blank: true, writeIn: true },
    { id: 'm', title: 'M', kind: 'multiChoice', districts: ['mx'], options: [{ id: 'x', name: 'X' }, { id: 'y', name: 'Y' }, { id: 'z', name: 'Z' }], minSelections: 1, maxSelections: 2 },
  ],
};

describe('smoke', () => {
  it('encrypts and verifies', () => {
    const codec = new BallotCodec(manifest, productionKey);
    const pool = new NoncePool(productionKey);
    const need = codec.noncesNeeded('mx');
    pool.fill(need);
    const { ballot } = codec.encryptBallot('mx', [{ contestId: 'q', choices: ['write-in'], writeIn: 'Zoé' }, { contestId: 'm', choices: ['x', 'z'] }], pool);
    expect(pool.misses).toBe(0);
    expect(pool.size).toBe(0);
    codec.verifyBallot(ballot);
    ballot.contests[1]!.ciphertexts[0] = productionKey.modN2.mul(ballot.contests[1]!.ciphertexts[0]!, 2n);
    expect(() => codec.verifyBallot(ballot)).toThrow(/contest m/);
  }, 120_000);
});
