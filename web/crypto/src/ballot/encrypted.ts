/** The encrypted ballot as it travels and as the record stores it, its JSON and its hash (docs/protocol.md §4.4). */

import { bytesToHex, fromHex, hashFromHex, toHex } from '../math/bytes.js';
import { type KnowledgeProof, knowledgeFromJson, knowledgeToJson } from '../proofs/knowledge.js';
import { expectArray, expectObject, type MembershipProof, membershipFromJson, membershipIntegers, type MembershipProofJson, membershipToJson } from '../proofs/membership.js';
import { Transcript } from '../transcript.js';

export interface EncryptedWriteIn { ciphertext: bigint; proof: KnowledgeProof }

export interface EncryptedContest {
  contestId: string;
  ciphertexts: bigint[];
  /** Chunked single-choice contests only. */
  used: bigint[];
  proofs: MembershipProof[];
  writeIn?: EncryptedWriteIn;
}

export interface EncryptedBallot {
  electionId: string;
  manifestHash: Uint8Array;
  ballotStyle: string;
  contests: EncryptedContest[];
}

export interface EncryptedContestJson {
  contestId: string;
  ciphertexts: string[];
  used?: string[];
  proofs: MembershipProofJson[];
  writeIn?: { ciphertext: string; proof: { commitment: string; z: string; w: string } };
}

export interface EncryptedBallotJson {
  electionId: string;
  manifestHash: string;
  ballotStyle: string;
  contests: EncryptedContestJson[];
}

/** SHA-256 of the `urna/v1/ballot` transcript of every field, proofs included: what the voting right signs. */
export function ballotHash(b: EncryptedBallot): Uint8Array {
  const t = new Transcript('ballot').string(b.electionId).bytes(b.manifestHash).string(b.ballotStyle).integer(b.contests.length);
  for (const c of b.contests) {
    t.string(c.contestId);
    t.integer(c.ciphertexts.length).integers(c.ciphertexts);
    t.integer(c.used.length).integers(c.used);
    t.integer(c.proofs.length);
    for (const p of c.proofs) t.integers(membershipIntegers(p));
    if (c.writeIn === undefined) t.integer(0);
    else t.integer(1).integer(c.writeIn.ciphertext).integers([c.writeIn.proof.commitment, c.writeIn.proof.z, c.writeIn.proof.w]);
  }
  return t.digest();
}

export function ballotToJson(b: EncryptedBallot): EncryptedBallotJson {
  return {
    electionId: b.electionId,
    manifestHash: bytesToHex(b.manifestHash),
    ballotStyle: b.ballotStyle,
    contests: b.contests.map((c) => {
      const out: EncryptedContestJson = { contestId: c.contestId, ciphertexts: c.ciphertexts.map(toHex), proofs: c.proofs.map(membershipToJson) };
      if (c.used.length > 0) out.used = c.used.map(toHex);
      if (c.writeIn !== undefined) out.writeIn = { ciphertext: toHex(c.writeIn.ciphertext), proof: knowledgeToJson(c.writeIn.proof) };
      return out;
    }),
  };
}

function expectString(field: string, x: unknown): string {
  if (typeof x !== 'string') throw new RangeError(`${field}: expected a string`);
  return x;
}

/** Parses a ballot, refusing unknown fields and non-canonical integers (as the Rust decoder does). */
export function ballotFromJson(json: unknown): EncryptedBallot {
  const o = expectObject('ballot', json, ['electionId', 'manifestHash', 'ballotStyle', 'contests']);
  return {
    electionId: expectString('ballot.electionId', o.electionId),
    manifestHash: hashFromHex('ballot.manifestHash', o.manifestHash),
    ballotStyle: expectString('ballot.ballotStyle', o.ballotStyle),
    contests: expectArray('ballot.contests', o.contests).map((cj, i) => {
      const f = `ballot.contests[${String(i)}]`;
      const c = expectObject(f, cj, ['contestId', 'ciphertexts', 'proofs'], ['used', 'writeIn']);
      const ints = (name: string, x: unknown): bigint[] => expectArray(`${f}.${name}`, x).map((h, j) => fromHex(`${f}.${name}[${String(j)}]`, h));
      const contest: EncryptedContest = {
        contestId: expectString(`${f}.contestId`, c.contestId),
        ciphertexts: ints('ciphertexts', c.ciphertexts),
        used: c.used === undefined ? [] : ints('used', c.used),
        proofs: expectArray(`${f}.proofs`, c.proofs).map((p, j) => membershipFromJson(`${f}.proofs[${String(j)}]`, p)),
      };
      if (c.writeIn !== undefined) {
        const w = expectObject(`${f}.writeIn`, c.writeIn, ['ciphertext', 'proof']);
        contest.writeIn = { ciphertext: fromHex(`${f}.writeIn.ciphertext`, w.ciphertext), proof: knowledgeFromJson(`${f}.writeIn.proof`, w.proof) };
      }
      return contest;
    }),
  };
}
