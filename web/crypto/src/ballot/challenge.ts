/**
 * Cast-as-intended (Benaloh) challenges (docs/protocol.md §4.7). After encrypting, the voter may challenge
 * instead of casting: the app then publishes the ballot together with the choices it encrypted and every
 * ciphertext's nonce. {@link checkChallenge} re-encrypts each revealed choice with its nonce and confirms it gives
 * exactly the ballot's ciphertext. A challenged ballot is spoiled: it is never cast, and the app encrypts anew.
 */

import { bytesEqual, bytesToHex, fromHex, hashFromHex, toHex } from '../math/bytes.js';
import { gcd } from '../math/modular.js';
import type { PublicKey } from '../paillier/publicKey.js';
import { expectArray, expectObject } from '../proofs/membership.js';
import { BallotCodec, type ContestNonces, type Selection, writeInPlaintext } from './codec.js';
import { ballotFromJson, ballotHash, ballotToJson, type EncryptedBallot, type EncryptedBallotJson } from './encrypted.js';
import { encodingPlan } from './layout.js';
import type { ElectionManifest } from './manifest.js';

export const CHALLENGE_VERSION = 1;

export interface RevealedContestJson {
  contestId: string;
  /** Single-choice: the one choice id as numbered (`pan+pri`, `write-in`, …). Multi-choice: the marked option ids in ballot order. */
  choices: string[];
  writeIn?: string;
  /** The nonce of each of the contest's ciphertexts, in order. */
  nonces: string[];
  /** Chunked contests: the nonce of each "used" ciphertext. */
  usedNonces?: string[];
  /** Contests offering a write-in: the nonce of the name ciphertext (present even when no name was written). */
  writeInNonce?: string;
}

export interface ChallengedBallotJson {
  version: number;
  ballot: EncryptedBallotJson;
  /** The ballot hash the app showed before the voter chose to challenge. */
  ballotHash: string;
  contests: RevealedContestJson[];
}

/** Thrown when a challenge file is not of the documented form (the CLI's exit status 2). */
export class ChallengeFormatError extends Error {
  constructor(reason: string) {
    super(`malformed challenge: ${reason}`);
    this.name = 'ChallengeFormatError';
  }
}

/** One contest as the check found it: what the ciphertexts hold, and whether they do. */
export interface CheckedContest {
  contestId: string;
  choices: string[];
  writeIn?: string;
}

export interface ChallengeReport {
  /** True when every ciphertext encodes exactly the revealed choice (and, if given, the displayed one). */
  valid: boolean;
  /** What differs, one line each; empty when valid. */
  problems: string[];
  ballotHash: string;
  ballotStyle: string;
  /** The revealed choices, canonical, for the voter to compare with what she marked. */
  contests: CheckedContest[];
}

/** The challenge an app publishes: the ballot, the selections it encrypted (canonical ids) and the nonces. */
export function makeChallenge(codec: BallotCodec, ballot: EncryptedBallot, selections: readonly Selection[], nonces: readonly ContestNonces[]): ChallengedBallotJson {
  return {
    version: CHALLENGE_VERSION,
    ballot: ballotToJson(ballot),
    ballotHash: bytesToHex(ballotHash(ballot)),
    contests: ballot.contests.map((c) => {
      const cc = codec.contest(c.contestId);
      const selection = selections.find((s) => s.contestId === c.contestId);
      const n = nonces.find((x) => x.contestId === c.contestId);
      if (selection === undefined || n === undefined) throw new RangeError(`contest ${c.contestId}: no selection or nonces to reveal`);
      const resolved = codec.resolve(cc, selection);
      const out: RevealedContestJson = { contestId: c.contestId, choices: resolved.marked.map((i) => cc.choices[i]?.id ?? ''), nonces: n.ciphertexts.map(toHex) };
      if (resolved.writeIn !== undefined) out.writeIn = resolved.writeIn;
      if (n.used.length > 0) out.usedNonces = n.used.map(toHex);
      if (n.writeIn !== undefined) out.writeInNonce = toHex(n.writeIn);
      return out;
    }),
  };
}

interface ParsedContest { contestId: string; choices: string[]; writeIn?: string; nonces: bigint[]; usedNonces: bigint[]; writeInNonce?: bigint }

function parse(json: unknown): { ballot: EncryptedBallot; ballotHash: Uint8Array; contests: ParsedContest[] } {
  try {
    const o = expectObject('challenge', json, ['version', 'ballot', 'ballotHash', 'contests']);
    if (o.version !== CHALLENGE_VERSION) throw new RangeError(`challenge.version: expected ${String(CHALLENGE_VERSION)}`);
    const contests = expectArray('challenge.contests', o.contests).map((cj, i) => {
      const f = `challenge.contests[${String(i)}]`;
      const c = expectObject(f, cj, ['contestId', 'choices', 'nonces'], ['writeIn', 'usedNonces', 'writeInNonce']);
      const str = (name: string, x: unknown): string => {
        if (typeof x !== 'string') throw new RangeError(`${f}.${name}: expected a string`);
        return x;
      };
      const ints = (name: string, x: unknown): bigint[] => expectArray(`${f}.${name}`, x).map((h, j) => fromHex(`${f}.${name}[${String(j)}]`, h));
      const parsed: ParsedContest = {
        contestId: str('contestId', c.contestId),
        choices: expectArray(`${f}.choices`, c.choices).map((x, j) => str(`choices[${String(j)}]`, x)),
        nonces: ints('nonces', c.nonces),
        usedNonces: c.usedNonces === undefined ? [] : ints('usedNonces', c.usedNonces),
      };
      if (c.writeIn !== undefined) parsed.writeIn = str('writeIn', c.writeIn);
      if (c.writeInNonce !== undefined) parsed.writeInNonce = fromHex(`${f}.writeInNonce`, c.writeInNonce);
      return parsed;
    });
    return { ballot: ballotFromJson(o.ballot), ballotHash: hashFromHex('challenge.ballotHash', o.ballotHash), contests };
  } catch (e) {
    throw new ChallengeFormatError((e as Error).message);
  }
}

/**
 * Checks a challenged ballot against the election's manifest and public key (both from a source the checker
 * trusts, not from the challenge): the ballot belongs to the election and carries its style's contests; its
 * hash is the one shown; each revealed choice is a valid selection of its contest; and re-encrypting it with the
 * revealed nonces gives exactly the ballot's ciphertexts. When `displayed` is given (what the app showed the
 * voter), the revealed choices must equal it too. Pure; throws {@link ChallengeFormatError} only for a file not
 * of the documented form.
 */
export function checkChallenge(challenge: unknown, manifest: ElectionManifest, publicKey: PublicKey, displayed?: readonly Selection[]): ChallengeReport {
  const parsed = parse(challenge);
  const codec = new BallotCodec(manifest, publicKey);
  const { ballot } = parsed;
  const problems: string[] = [];
  const report: ChallengeReport = { valid: false, problems, ballotHash: bytesToHex(ballotHash(ballot)), ballotStyle: ballot.ballotStyle, contests: [] };
  try {
    codec.checkBallotShape(ballot);
  } catch (e) {
    problems.push((e as Error).message);
    return report;
  }
  if (!bytesEqual(parsed.ballotHash, ballotHash(ballot))) problems.push(`ballot hash: the challenge says ${bytesToHex(parsed.ballotHash)}, the ballot hashes to ${report.ballotHash}`);
  const revealedIds = parsed.contests.map((c) => c.contestId).join(',');
  const ballotIds = ballot.contests.map((c) => c.contestId).join(',');
  if (revealedIds !== ballotIds) {
    problems.push(`the challenge reveals contests [${revealedIds}], the ballot carries [${ballotIds}]`);
    return report;
  }
  const pk = publicKey;
  const unit = (r: bigint): boolean => r > 0n && r < pk.n && gcd(r, pk.n) === 1n;
  ballot.contests.forEach((enc, i) => {
    const rev = parsed.contests[i] as ParsedContest;
    const cc = codec.contest(enc.contestId);
    const fail = (what: string): void => { problems.push(`contest ${enc.contestId}: ${what}`); };
    let resolved;
    try {
      resolved = codec.resolve(cc, { contestId: rev.contestId, choices: rev.choices, ...(rev.writeIn === undefined ? {} : { writeIn: rev.writeIn }) });
    } catch (e) {
      fail(`revealed choice is not a valid selection: ${(e as Error).message}`);
      return;
    }
    const choices = resolved.marked.map((j) => cc.choices[j]?.id ?? '');
    report.contests.push({ contestId: enc.contestId, choices, ...(resolved.writeIn === undefined ? {} : { writeIn: resolved.writeIn }) });
    const plan = encodingPlan(cc.layout, codec.slotBits, resolved.marked);
    const compare = (what: string, values: bigint[], nonces: bigint[], ciphertexts: bigint[]): void => {
      if (nonces.length !== ciphertexts.length || values.length !== ciphertexts.length) {
        fail(`${String(nonces.length)} ${what} nonces for ${String(ciphertexts.length)} ciphertexts`);
        return;
      }
      values.forEach((m, j) => {
        const r = nonces[j] ?? 0n;
        if (!unit(r)) fail(`${what} nonce ${String(j)} is not in Z*_n`);
        else if (pk.encryptWith(m, { r, rn: pk.nthPower(r) }) !== ciphertexts[j]) fail(`${what} ciphertext ${String(j)} does not encrypt the revealed choice ${choices.join(', ')}`);
      });
    };
    compare('choice', plan.values, rev.nonces, enc.ciphertexts);
    compare('used', plan.used, rev.usedNonces, enc.used);
    if (enc.writeIn !== undefined) {
      const name = resolved.writeIn === undefined ? 0n : writeInPlaintext(resolved.writeIn);
      if (rev.writeInNonce === undefined) fail('no nonce revealed for the write-in name');
      else compare('write-in', [name], [rev.writeInNonce], [enc.writeIn.ciphertext]);
    } else if (rev.writeInNonce !== undefined) fail('a write-in nonce for a contest without a write-in');
    if (displayed !== undefined) {
      const shown = displayed.find((s) => s.contestId === enc.contestId);
      let same = false;
      if (shown !== undefined) {
        try {
          const r = codec.resolve(cc, shown);
          same = r.marked.join(',') === resolved.marked.join(',') && r.writeIn === resolved.writeIn;
        } catch {
          same = false;
        }
      }
      if (!same) fail(`the ballot holds ${choices.join(', ')}${resolved.writeIn === undefined ? '' : ` (${resolved.writeIn})`}, not what was displayed`);
    }
  });
  report.valid = problems.length === 0;
  return report;
}
