/**
 * One election's manifest and public key prepared once, to encrypt and prove ballots of any style and to
 * verify them (docs/protocol.md §4).
 */

import { bytesEqual, concatBytes, bytesToBigint, bigintToBytes, utf8 } from '../math/bytes.js';
import type { NonceSource } from '../paillier/pool.js';
import type { PublicKey } from '../paillier/publicKey.js';
import { type ProofContext, ProofError } from '../proofs/context.js';
import { equationsHold, type Equation } from '../proofs/equation.js';
import { knowledgeEquation, proveKnowledge } from '../proofs/knowledge.js';
import { membershipEquations, proveMembership } from '../proofs/membership.js';
import { type Choice, choiceIndex, choices } from './choices.js';
import { ballotHash, type EncryptedBallot, type EncryptedContest } from './encrypted.js';
import { branchComponents, type ContestLayout, contestLayout, encodingPlan, isChunked, positions, statementShapes, type StatementShape } from './layout.js';
import { type Contest, type ElectionManifest, manifestHash, selectionBounds, slotBits, styleContests, validateManifest } from './manifest.js';

/** Longest write-in name in UTF-8 bytes. */
export const MAX_WRITE_IN_BYTES = 256;
export const WRITE_IN_LABEL = 'write-in';

/** What a voter marked in one contest, by choice id (docs/protocol.md §4.1). */
export interface Selection {
  contestId: string;
  /**
   * Single-choice: one choice id (`pan`, `pan+pri`, `write-in`, `blank`, `null`), or the party ids the voter
   * marked (two or more of one coalition). Multi-choice: the marked option ids.
   */
  choices: string[];
  /** The write-in name, exactly when the write-in choice is selected. */
  writeIn?: string;
}

export class BallotError extends Error {
  constructor(readonly contest: string, reason: string) {
    super(`contest ${contest}: ${reason}`);
    this.name = 'BallotError';
  }
}

export interface ContestCodec {
  contest: Contest;
  choices: Choice[];
  layout: ContestLayout;
  shapes: StatementShape[];
}

/** The nonces of one encrypted contest: what a Benaloh challenge reveals (docs/protocol.md §4.7). */
export interface ContestNonces {
  contestId: string;
  ciphertexts: bigint[];
  used: bigint[];
  writeIn?: bigint;
}

/** A resolved selection: the marked choice indices and the write-in name. */
export interface ResolvedSelection { marked: number[]; writeIn?: string }

export class BallotCodec {
  readonly manifestHash: Uint8Array;
  readonly contests: ContestCodec[];

  constructor(readonly manifest: ElectionManifest, readonly publicKey: PublicKey) {
    validateManifest(manifest);
    this.manifestHash = manifestHash(manifest);
    const bits = slotBits(manifest);
    this.contests = manifest.contests.map((contest) => {
      const all = choices(contest);
      const layout = contestLayout(contest, all.length, publicKey.bits, bits);
      return { contest, choices: all, layout, shapes: statementShapes(layout, bits) };
    });
  }

  get slotBits(): number {
    return slotBits(this.manifest);
  }

  contest(id: string): ContestCodec {
    const cc = this.contests.find((c) => c.contest.id === id);
    if (cc === undefined) throw new BallotError(id, 'no such contest in the manifest');
    return cc;
  }

  /** The contests of a ballot style (district), in manifest order. */
  styleContests(ballotStyle: string): ContestCodec[] {
    const ids = new Set(styleContests(this.manifest, ballotStyle).map((c) => c.id));
    return this.contests.filter((c) => ids.has(c.contest.id));
  }

  /**
   * How many precomputed `(r, r^n)` pairs encrypting and proving a ballot of this style takes: per contest one
   * per ciphertext (and "used" bit), one per membership branch and component, and two for a write-in name
   * (its encryption and its proof's commitment).
   */
  noncesNeeded(ballotStyle: string): number {
    return this.styleContests(ballotStyle).reduce((n, cc) => {
      const ciphertexts = positions(cc.layout) * (isChunked(cc.layout) ? 2 : 1);
      return n + ciphertexts + branchComponents(cc.layout, this.slotBits) + (cc.contest.writeIn === true ? 2 : 0);
    }, 0);
  }

  context(ballotStyle: string, contestId: string, label: string): ProofContext {
    return { electionId: this.manifest.electionId, manifestHash: this.manifestHash, contestId: `${contestId}/${label}`, ballotStyle };
  }

  /** Checks a selection against its contest: known ids, one choice or a coalition subset, min/max, write-in name. */
  resolve(cc: ContestCodec, selection: Selection): ResolvedSelection {
    const fail = (reason: string): never => { throw new BallotError(cc.contest.id, reason); };
    const index = (id: string): number => choiceIndex(cc.choices, id) ?? fail(`unknown choice ${JSON.stringify(id)}`);
    if (cc.contest.kind === 'singleChoice') {
      if (selection.choices.length === 0) fail('a single-choice contest takes exactly one choice, got none');
      const choice = index(selection.choices.length === 1 ? (selection.choices[0] ?? '') : selection.choices.join('+'));
      const isWriteIn = cc.choices[choice]?.kind === 'writeIn';
      if (isWriteIn && selection.writeIn === undefined) fail('the write-in choice needs a name');
      if (!isWriteIn && selection.writeIn !== undefined) fail('a name is only given with the write-in choice');
      if (isWriteIn) {
        const bytes = utf8(selection.writeIn ?? '').length;
        if (bytes === 0 || bytes > MAX_WRITE_IN_BYTES) fail(`a write-in name has 1 to ${String(MAX_WRITE_IN_BYTES)} bytes`);
        return { marked: [choice], writeIn: selection.writeIn };
      }
      return { marked: [choice] };
    }
    if (selection.writeIn !== undefined) fail('a name is only given with the write-in choice');
    const marked = selection.choices.map(index);
    if (new Set(marked).size !== marked.length) fail('an option is marked twice');
    const [min, max] = selectionBounds(cc.contest);
    if (marked.length < min || marked.length > max) fail(`${String(marked.length)} options marked, allowed ${String(min)} to ${String(max)}`);
    return { marked: [...marked].sort((a, b) => a - b) };
  }

  /**
   * Encrypts and proves a whole ballot for `ballotStyle`: `selections` names each of the style's contests
   * once. Returns the ballot and the nonces a challenge would reveal (discard them when casting).
   */
  encryptBallot(ballotStyle: string, selections: readonly Selection[], nonces: NonceSource): { ballot: EncryptedBallot; nonces: ContestNonces[] } {
    const style = this.styleContests(ballotStyle);
    for (const s of selections) {
      if (!style.some((cc) => cc.contest.id === s.contestId)) throw new BallotError(s.contestId, `not on the ballot of ${JSON.stringify(ballotStyle)}`);
    }
    // Every selection is checked before the first nonce is spent.
    const resolved = style.map((cc) => {
      const chosen = selections.filter((s) => s.contestId === cc.contest.id);
      if (chosen.length === 0) throw new BallotError(cc.contest.id, 'no selection given');
      if (chosen.length > 1) throw new BallotError(cc.contest.id, 'selected twice');
      return this.resolve(cc, chosen[0] as Selection);
    });
    const contests: EncryptedContest[] = [];
    const revealed: ContestNonces[] = [];
    style.forEach((cc, i) => {
      const [contest, contestNonces] = this.encryptContest(ballotStyle, cc, resolved[i] as ResolvedSelection, nonces);
      contests.push(contest);
      revealed.push(contestNonces);
    });
    return { ballot: { electionId: this.manifest.electionId, manifestHash: this.manifestHash, ballotStyle, contests }, nonces: revealed };
  }

  private encryptContest(style: string, cc: ContestCodec, sel: ResolvedSelection, source: NonceSource): [EncryptedContest, ContestNonces] {
    const pk = this.publicKey;
    const plan = encodingPlan(cc.layout, this.slotBits, sel.marked);
    const encrypt = (m: bigint): [bigint, bigint] => {
      const nonce = source.take();
      return [pk.encryptWith(m, nonce), nonce.r];
    };
    const values = plan.values.map(encrypt);
    const used = plan.used.map(encrypt);
    const enc: EncryptedContest = { contestId: cc.contest.id, ciphertexts: values.map((v) => v[0]), used: used.map((v) => v[0]), proofs: [] };
    const r = values.map((v) => v[1]);
    const ru = used.map((v) => v[1]);
    const product = (xs: bigint[]): bigint => xs.reduce((acc, x) => pk.modN.mul(acc, x), 1n);
    // The witness nonces of each statement, in the order of `ciphertextTuples`.
    let tupleNonces: bigint[][];
    if (cc.layout.kind === 'singleChoice' && !isChunked(cc.layout)) tupleNonces = [r];
    else if (cc.layout.kind === 'singleChoice') tupleNonces = [...r.map((x, c) => [x, ru[c] ?? 1n]), [product(ru)]];
    else tupleNonces = [...r.map((x) => [x]), [product(r)]];
    const tuples = this.ciphertextTuples(cc, enc);
    cc.shapes.forEach((shape, i) => {
      const ctx = this.context(style, cc.contest.id, shape.label);
      enc.proofs.push(proveMembership(pk, ctx, { ciphertexts: tuples[i] ?? [], allowed: shape.allowed },
        { index: plan.witnessIndices[i] ?? 0, nonces: tupleNonces[i] ?? [] }, source));
    });
    const revealed: ContestNonces = { contestId: cc.contest.id, ciphertexts: r, used: ru };
    if (cc.contest.writeIn === true) {
      const name = sel.writeIn === undefined ? 0n : writeInPlaintext(sel.writeIn);
      const [ciphertext, nonce] = encrypt(name);
      const proof = proveKnowledge(pk, this.context(style, cc.contest.id, WRITE_IN_LABEL), ciphertext, name, nonce, source);
      enc.writeIn = { ciphertext, proof };
      revealed.writeIn = nonce;
    }
    return [enc, revealed];
  }

  /** The ciphertext tuple of each statement; sums (`used-total`, `selection-count`) computed homomorphically. */
  ciphertextTuples(cc: ContestCodec, enc: EncryptedContest): bigint[][] {
    const n = positions(cc.layout);
    if (enc.ciphertexts.length !== n) throw new BallotError(enc.contestId, `${String(enc.ciphertexts.length)} ciphertexts, the layout has ${String(n)}`);
    const expectedUsed = isChunked(cc.layout) ? n : 0;
    if (enc.used.length !== expectedUsed) throw new BallotError(enc.contestId, `${String(enc.used.length)} used ciphertexts, expected ${String(expectedUsed)}`);
    if (cc.layout.kind === 'singleChoice' && !isChunked(cc.layout)) return [[enc.ciphertexts[0] ?? 0n]];
    if (cc.layout.kind === 'singleChoice') return [...enc.ciphertexts.map((c, i) => [c, enc.used[i] ?? 0n]), [this.publicKey.addAll(enc.used)]];
    return [...enc.ciphertexts.map((c) => [c]), [this.publicKey.addAll(enc.ciphertexts)]];
  }

  /** This election and manifest, and exactly the style's contests in order. */
  checkBallotShape(ballot: EncryptedBallot): void {
    if (ballot.electionId !== this.manifest.electionId || !bytesEqual(ballot.manifestHash, this.manifestHash)) {
      throw new BallotError('*', 'ballot belongs to another election or manifest');
    }
    const expected = this.styleContests(ballot.ballotStyle).map((c) => c.contest.id);
    const got = ballot.contests.map((c) => c.contestId);
    if (expected.join('\n') !== got.join('\n')) {
      throw new BallotError('*', `ballot of style ${JSON.stringify(ballot.ballotStyle)} must carry contests ${JSON.stringify(expected)}, carries ${JSON.stringify(got)}`);
    }
  }

  /** The equations of one contest's proofs, each with the label of the proof it comes from. */
  contestEquations(ballotStyle: string, enc: EncryptedContest): { label: string; equations: Equation[] }[] {
    const cc = this.contest(enc.contestId);
    if (enc.proofs.length !== cc.shapes.length) throw new BallotError(enc.contestId, `${String(enc.proofs.length)} proofs, the layout needs ${String(cc.shapes.length)}`);
    if ((enc.writeIn !== undefined) !== (cc.contest.writeIn === true)) throw new BallotError(enc.contestId, 'write-in ciphertext present exactly when the contest offers a write-in');
    const tuples = this.ciphertextTuples(cc, enc);
    const out = cc.shapes.map((shape, i) => {
      const proof = enc.proofs[i];
      if (proof === undefined) throw new BallotError(enc.contestId, 'missing proof');
      try {
        return { label: shape.label, equations: membershipEquations(this.publicKey, this.context(ballotStyle, cc.contest.id, shape.label), { ciphertexts: tuples[i] ?? [], allowed: shape.allowed }, proof) };
      } catch (e) {
        throw new BallotError(enc.contestId, `${shape.label}: ${(e as Error).message}`);
      }
    });
    if (enc.writeIn !== undefined) {
      try {
        out.push({ label: WRITE_IN_LABEL, equations: [knowledgeEquation(this.publicKey, this.context(ballotStyle, cc.contest.id, WRITE_IN_LABEL), enc.writeIn.ciphertext, enc.writeIn.proof)] });
      } catch (e) {
        throw new BallotError(enc.contestId, `${WRITE_IN_LABEL}: ${(e as Error).message}`);
      }
    }
    return out;
  }

  /**
   * Verifies a whole ballot: its election and style, every range and challenge, and all proof equations as one
   * random-weight batch; when the batch fails, each proof is checked exactly so the error names the culprit.
   * Throws {@link BallotError}; returns the ballot hash when valid.
   */
  verifyBallot(ballot: EncryptedBallot): Uint8Array {
    this.checkBallotShape(ballot);
    const all = ballot.contests.flatMap((c) => this.contestEquations(ballot.ballotStyle, c).map((p) => ({ contest: c.contestId, ...p })));
    if (!equationsHold(this.publicKey, all.flatMap((p) => p.equations))) {
      // Find the culprit: each proof on its own (a batch of its equations, one full exponentiation each).
      for (const p of all) {
        if (!equationsHold(this.publicKey, p.equations)) throw new BallotError(p.contest, `${p.label}: ${new ProofError('proof', 'verification equation does not hold').message}`);
      }
      throw new BallotError('*', 'batch verification failed but every proof holds alone (retry)');
    }
    return ballotHash(ballot);
  }
}

/** A write-in name as a plaintext: `0x01 || UTF-8(name)`, so that 0 means "no write-in". */
export function writeInPlaintext(name: string): bigint {
  return bytesToBigint(concatBytes(new Uint8Array([1]), utf8(name)));
}

/** The inverse of {@link writeInPlaintext}: `undefined` for 0, an error for anything not of that form. */
export function writeInName(m: bigint): string | undefined {
  const bytes = bigintToBytes(m);
  if (bytes.length === 0) return undefined;
  if (bytes[0] !== 1) throw new RangeError('malformed write-in plaintext');
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(1));
}
