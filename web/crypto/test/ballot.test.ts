import { afterEach, describe, expect, it } from 'vitest';
import { BallotCodec } from '../src/ballot/codec.js';
import type { ElectionManifest } from '../src/ballot/manifest.js';
import { NoncePool } from '../src/paillier/pool.js';
import { productionKey } from './helpers.js';

const manifest: ElectionManifest = {
  electionId: 'small', title: 'Small', slotBits: 20,
  districts: [{ id: 'mx', name: 'MX' }],
  contests: [
    { id: 'q', title: 'Q', kind: 'singleChoice', districts: ['mx'], parties: [{ id: 'a', name: 'A' }, { id: 'b', name: 'B' }], blank: true, writeIn: true },
    { id: 'm', title: 'M', kind: 'multiChoice', districts: ['mx'], options: [{ id: 'x', name: 'X' }, { id: 'y', name: 'Y' }, { id: 'z', name: 'Z' }], minSelections: 1, maxSelections: 2 },
  ],
};

// The tests are long synchronous computations: give the runner's messages a turn between them.
afterEach(() => new Promise((resolve) => setTimeout(resolve, 0)));

describe('BallotCodec', () => {
  it('encrypts a write-in and a multi-choice contest with exactly noncesNeeded nonces; a changed ciphertext is refused', () => {
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

describe('selections', () => {
  const codec = new BallotCodec(manifest, productionKey);
  const q = codec.contest('q');
  const m = codec.contest('m');

  it('refuses what the manifest does not allow, naming the contest', () => {
    expect(() => codec.resolve(q, { contestId: 'q', choices: ['c'] })).toThrow('contest q: unknown choice "c"');
    expect(() => codec.resolve(q, { contestId: 'q', choices: ['write-in'] })).toThrow(/needs a name/);
    expect(() => codec.resolve(q, { contestId: 'q', choices: ['a'], writeIn: 'x' })).toThrow(/only given with the write-in/);
    expect(() => codec.resolve(q, { contestId: 'q', choices: ['write-in'], writeIn: 'x'.repeat(257) })).toThrow(/1 to 256 bytes/);
    expect(() => codec.resolve(m, { contestId: 'm', choices: [] })).toThrow(/0 options marked, allowed 1 to 2/);
    expect(() => codec.resolve(m, { contestId: 'm', choices: ['x', 'y', 'z'] })).toThrow(/3 options marked/);
    expect(() => codec.resolve(m, { contestId: 'm', choices: ['x', 'x'] })).toThrow(/marked twice/);
    expect(() => codec.encryptBallot('mx', [{ contestId: 'q', choices: ['a'] }], new NoncePool(productionKey))).toThrow('contest m: no selection given');
  });

  it('resolves the marked parties of a coalition in any order', () => {
    const federal = new BallotCodec({ ...manifest, contests: [{ id: 'p', title: 'P', kind: 'singleChoice', districts: ['mx'], parties: [{ id: 'a', name: 'A' }, { id: 'b', name: 'B' }, { id: 'c', name: 'C' }], coalitions: [{ id: 'k', name: 'K', parties: ['a', 'b', 'c'] }] }] }, productionKey);
    const p = federal.contest('p');
    expect(p.choices.map((c) => c.id)).toEqual(['a', 'b', 'c', 'a+b', 'a+c', 'b+c', 'a+b+c']);
    expect(federal.resolve(p, { contestId: 'p', choices: ['c', 'a'] }).marked).toEqual([4]);
    expect(federal.resolve(p, { contestId: 'p', choices: ['b+a'] }).marked).toEqual([3]);
  });
});
