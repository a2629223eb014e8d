/**
 * Cross-implementation checks against the committed fixtures (workloads/ballot/tests/fixtures/browser): Rust
 * ballots pass this verifier, both sides' hashes agree, and the committed TypeScript fixtures still match what
 * this code computes for their deterministic parts.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { anonId } from '../src/ballot/anon.js';
import { checkChallenge } from '../src/ballot/challenge.js';
import { choices } from '../src/ballot/choices.js';
import { BallotCodec } from '../src/ballot/codec.js';
import { ballotFromJson, ballotHash, ballotToJson } from '../src/ballot/encrypted.js';
import { contestLayout } from '../src/ballot/layout.js';
import { manifestHash } from '../src/ballot/manifest.js';
import { bytesToHex, hexToBytes } from '../src/math/bytes.js';
import { ballotsFile, challengeFile, manifest, type ManifestName } from './fixtures.js';
import { productionKey } from './helpers.js';

const codecs: Record<ManifestName, BallotCodec> = {
  federal: new BallotCodec(manifest('federal'), productionKey),
  seeds: new BallotCodec(manifest('seeds'), productionKey),
};

// The tests are long synchronous computations: give the runner's messages a turn between them.
afterEach(() => new Promise((resolve) => setTimeout(resolve, 0)));

describe('numbering and layout (docs/protocol.md §4.1–4.2)', () => {
  it('numbers the 2024 presidential contest as the doc lists it', () => {
    expect(choices(codecs.federal.contest('president').contest).map((c) => c.id).join(' ')).toBe(
      'pan pri prd pvem pt morena mc pan+pri pan+prd pri+prd pan+pri+prd pvem+pt pvem+morena pt+morena pvem+pt+morena write-in null',
    );
  });

  it('chunks the Chiapas-style governor (521 choices) into 4 at 3072 bits', () => {
    const cc = codecs.seeds.contest('governor');
    expect(cc.choices).toHaveLength(521);
    const layout = contestLayout(cc.contest, 521, 3072, 20);
    expect(layout.kind === 'singleChoice' && layout.chunks.map((c) => c.len)).toEqual([131, 130, 130, 130]);
  });
});

describe('hashes agree with Rust', () => {
  for (const language of ['ts', 'rust'] as const) {
    it(`manifest hashes equal ${language}-ballots.json's`, () => {
      const file = ballotsFile(language);
      for (const name of ['federal', 'seeds'] as const) expect(bytesToHex(manifestHash(manifest(name)))).toBe(file.manifestHashes[name]);
    });

    it(`ballot hashes and JSON of ${language}-ballots.json are what this code computes`, () => {
      for (const f of ballotsFile(language).ballots) {
        const b = ballotFromJson(f.ballot);
        expect(bytesToHex(ballotHash(b)), f.name).toBe(f.ballotHash);
        expect(ballotToJson(b), f.name).toEqual(f.ballot);
      }
    });

    it(`AnonIDs of ${language}-ballots.json are what this code computes`, () => {
      for (const a of ballotsFile(language).anonIds) {
        expect(bytesToHex(anonId(hexToBytes('h', a.ballotHash), hexToBytes('p', a.preparedMessage), hexToBytes('s', a.signature)))).toBe(a.anonId);
      }
    });
  }

  it('has AnonID vectors from TypeScript', () => {
    expect(ballotsFile('ts').anonIds.length).toBeGreaterThan(0);
  });
});

describe('Rust-made ballots pass the TypeScript verifier', () => {
  for (const f of ballotsFile('rust').ballots) {
    it(f.name, () => {
      const b = ballotFromJson(f.ballot);
      expect(bytesToHex(codecs[f.manifest].verifyBallot(b))).toBe(f.ballotHash);
    }, 120_000);
  }

  it('and tampered ones fail', () => {
    const f = ballotsFile('rust').ballots[0]!;
    const codec = codecs[f.manifest];
    const fresh = () => ballotFromJson(f.ballot);
    const b1 = fresh();
    b1.contests[0]!.ciphertexts[0] = productionKey.modN2.mul(b1.contests[0]!.ciphertexts[0]!, productionKey.n + 1n);
    expect(() => codec.verifyBallot(b1)).toThrow(/contest president: choice/);
    const b2 = fresh();
    b2.contests[1]!.proofs[0]!.responses[3]![0] = b2.contests[1]!.proofs[0]!.responses[3]![0]! ^ 2n;
    expect(() => codec.verifyBallot(b2)).toThrow(/contest senate-jalisco: choice/);
    const b3 = fresh();
    b3.contests[1]!.proofs[0] = b3.contests[2]!.proofs[0]!;
    expect(() => codec.verifyBallot(b3)).toThrow(/contest senate-jalisco/);
    const b4 = fresh();
    b4.ballotStyle = 'colima';
    expect(() => codec.verifyBallot(b4)).toThrow(/must carry contests/);
    const b5 = fresh();
    b5.contests[2]!.writeIn!.proof = { ...b5.contests[2]!.writeIn!.proof, z: b5.contests[2]!.writeIn!.proof.z ^ 1n };
    expect(() => codec.verifyBallot(b5)).toThrow(/contest governor-jalisco: write-in/);
  }, 120_000);
});

describe('TypeScript-made fixtures still verify here', () => {
  for (const f of ballotsFile('ts').ballots) {
    it(f.name, () => {
      expect(bytesToHex(codecs[f.manifest].verifyBallot(ballotFromJson(f.ballot)))).toBe(f.ballotHash);
    }, 120_000);
  }
});

describe('Benaloh challenge (docs/protocol.md §4.7)', () => {
  const seeds = manifest('seeds');

  it('accepts the committed challenge and reports its choices', () => {
    const report = checkChallenge(challengeFile(), seeds, productionKey);
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
    expect(report.contests.map((c) => `${c.contestId}=${c.choices.join(',')}`)).toEqual(['president=write-in', 'governor=p2+p5+p9', 'board=o0,o2,o5']);
    expect(report.contests[0]!.writeIn).toBe('Rosario Ibarra');
  }, 60_000);

  it('flags a ballot that is not what the app displayed', () => {
    const displayed = [
      { contestId: 'president', choices: ['write-in'], writeIn: 'Rosario Ibarra' },
      { contestId: 'governor', choices: ['p2', 'p5', 'p9'] },
      { contestId: 'board', choices: ['o0', 'o2'] },
    ];
    const report = checkChallenge(challengeFile(), seeds, productionKey, displayed);
    expect(report.valid).toBe(false);
    expect(report.problems).toEqual(['contest board: the ballot holds o0, o2, o5, not what was displayed']);
  }, 60_000);

  it('refuses revealed choices the ciphertexts do not hold', () => {
    const c = challengeFile();
    c.contests[1]!.choices = ['p2+p5'];
    c.contests[2]!.nonces[0] = c.contests[2]!.nonces[1]!;
    const report = checkChallenge(c, seeds, productionKey);
    expect(report.valid).toBe(false);
    // p2+p5 lies in chunk 0, p2+p5+p9 in chunk 2: both chunks and both used bits differ.
    expect(report.problems).toEqual([
      'contest governor: choice ciphertext 0 does not encrypt the revealed choice p2+p5',
      'contest governor: choice ciphertext 2 does not encrypt the revealed choice p2+p5',
      'contest governor: used ciphertext 0 does not encrypt the revealed choice p2+p5',
      'contest governor: used ciphertext 2 does not encrypt the revealed choice p2+p5',
      'contest board: choice ciphertext 0 does not encrypt the revealed choice o0, o2, o5',
    ]);
  }, 60_000);

  it('refuses a malformed file with a format error', () => {
    expect(() => checkChallenge({ version: 1 }, seeds, productionKey)).toThrow(/malformed challenge/);
    const c = challengeFile() as unknown as Record<string, unknown>;
    expect(() => checkChallenge({ ...c, extra: 1 }, seeds, productionKey)).toThrow(/unknown field "extra"/);
  });
});
