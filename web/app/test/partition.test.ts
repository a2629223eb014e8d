import { describe, expect, it } from 'vitest';
import { partitionOfSignature, partitionOfVoter, partitionPath } from '../src/partition.js';

// The same vectors as workloads/vote/src/partition.rs: both sides must route a voter and a ballot alike.
describe('partitions', () => {
  it('routes voters by their id', () => {
    const v1 = '6d2c8fcf57e0aa6334044224a48a264f92afab3de1bc2e57ce1b2d8e5dfaf7e5';
    const v2 = 'b45ea12daec4c5566f8c8a988acf31cd56586bbfcf55b373d69fd127c478e1a7';
    expect([1, 2, 3, 4].map((n) => partitionOfVoter(v1, n))).toEqual([0, 1, 0, 3]);
    expect([1, 2, 3, 4].map((n) => partitionOfVoter(v2, n))).toEqual([0, 0, 2, 2]);
  });

  it('routes ballots by the SHA-256 of their signature', () => {
    const sig = (b: number) => b.toString(16).padStart(2, '0').repeat(384);
    expect([1, 2, 3, 4].map((n) => partitionOfSignature(sig(1), n))).toEqual([0, 1, 1, 1]);
    expect([1, 2, 3, 4].map((n) => partitionOfSignature(sig(2), n))).toEqual([0, 0, 1, 0]);
  });

  it('prefixes paths only with several partitions', () => {
    expect(partitionPath('v1/ballots', 0, 1)).toBe('v1/ballots');
    expect(partitionPath('v1/ballots', 2, 3)).toBe('p/2/v1/ballots');
    expect(() => partitionOfVoter('00'.repeat(32), 0)).toThrow(RangeError);
  });
});
