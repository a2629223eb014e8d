/**
 * How a contest's choices sit in Paillier plaintexts and what each of its proofs states (docs/protocol.md
 * §4.2–4.3). Shared by the prover, the verifier and the challenge check, so all derive the same statements.
 */

import type { Choice } from './choices.js';
import { type Contest, selectionBounds } from './manifest.js';

/** Bits left free below |n| on top of the one bit that keeps every slot total below n. */
export const SAFETY_MARGIN_BITS = 64;

export function slotCapacity(modulusBits: number, slotBits: number): number {
  return Math.floor(Math.max(0, modulusBits - 1 - SAFETY_MARGIN_BITS) / Math.max(1, slotBits));
}

export interface Chunk { first: number; len: number }

export type ContestLayout =
  | { kind: 'singleChoice'; choices: number; chunks: Chunk[] }
  | { kind: 'multiChoice'; options: number; min: number; max: number };

export function contestLayout(contest: Contest, choiceCount: number, modulusBits: number, slotBits: number): ContestLayout {
  const capacity = slotCapacity(modulusBits, slotBits);
  if (capacity < 2) throw new RangeError(`contest ${contest.id}: the key holds only ${String(capacity)} slots per plaintext; increase the key size or lower slotBits`);
  if (contest.kind === 'multiChoice') {
    const [min, max] = selectionBounds(contest);
    return { kind: 'multiChoice', options: choiceCount, min, max };
  }
  const perChunk = choiceCount < capacity ? choiceCount : capacity - 1;
  const count = Math.ceil(choiceCount / Math.max(1, perChunk));
  const base = Math.floor(choiceCount / count);
  const extra = choiceCount % count;
  const chunks: Chunk[] = [];
  let first = 0;
  for (let c = 0; c < count; c++) {
    const len = base + (c < extra ? 1 : 0);
    chunks.push({ first, len });
    first += len;
  }
  return { kind: 'singleChoice', choices: choiceCount, chunks };
}

export function isChunked(layout: ContestLayout): boolean {
  return layout.kind === 'singleChoice' && layout.chunks.length > 1;
}

/** Ciphertexts the tally adds up: one per chunk or per option. */
export function positions(layout: ContestLayout): number {
  return layout.kind === 'singleChoice' ? layout.chunks.length : layout.options;
}

/** `Σ slots[i]·2^(i·bits)`. */
export function fromSlots(bits: number, slots: readonly number[]): bigint {
  let x = 0n;
  for (let i = slots.length - 1; i >= 0; i--) x = (x << BigInt(bits)) + BigInt(slots[i] ?? 0);
  return x;
}

/** `M^index + M^countSlot` with `M = 2^bits`. */
export function oneHot(bits: number, index: number, countSlot: number): bigint {
  return (1n << BigInt(bits * index)) + (1n << BigInt(bits * countSlot));
}

export interface StatementShape { label: string; allowed: bigint[][] }

/** The statements of a contest, in proof order, with their labels. */
export function statementShapes(layout: ContestLayout, bits: number): StatementShape[] {
  if (layout.kind === 'singleChoice' && layout.chunks.length === 1) {
    return [{ label: 'choice', allowed: Array.from({ length: layout.choices }, (_, j) => [oneHot(bits, j, layout.choices)]) }];
  }
  if (layout.kind === 'singleChoice') {
    const out = layout.chunks.map((chunk, c) => ({
      label: `chunk/${String(c)}`,
      allowed: [[0n, 0n], ...Array.from({ length: chunk.len }, (_, i) => [oneHot(bits, i, chunk.len), 1n])],
    }));
    return [...out, { label: 'used-total', allowed: [[1n]] }];
  }
  const unmarked = fromSlots(bits, [0, 1]);
  const marked = fromSlots(bits, [1, 1]);
  const out: StatementShape[] = Array.from({ length: layout.options }, (_, j) => ({ label: `option/${String(j)}`, allowed: [[unmarked], [marked]] }));
  const counts: bigint[][] = [];
  for (let s = layout.min; s <= layout.max; s++) counts.push([fromSlots(bits, [s, layout.options])]);
  return [...out, { label: 'selection-count', allowed: counts }];
}

/** What one selection encrypts: per-position values, "used" bits, and each statement's true branch. */
export interface EncodingPlan { values: bigint[]; used: bigint[]; witnessIndices: number[] }

/** `choice` for a single-choice contest, the marked option indices for a multi-choice one. */
export function encodingPlan(layout: ContestLayout, bits: number, marked: readonly number[]): EncodingPlan {
  if (layout.kind === 'singleChoice') {
    const choice = marked[0] ?? -1;
    if (layout.chunks.length === 1) return { values: [oneHot(bits, choice, layout.choices)], used: [], witnessIndices: [choice] };
    const plan: EncodingPlan = { values: [], used: [], witnessIndices: [] };
    for (const chunk of layout.chunks) {
      const local = choice - chunk.first;
      const inside = local >= 0 && local < chunk.len;
      plan.values.push(inside ? oneHot(bits, local, chunk.len) : 0n);
      plan.used.push(inside ? 1n : 0n);
      plan.witnessIndices.push(inside ? local + 1 : 0);
    }
    plan.witnessIndices.push(0);
    return plan;
  }
  const plan: EncodingPlan = { values: [], used: [], witnessIndices: [] };
  for (let j = 0; j < layout.options; j++) {
    const x = marked.includes(j) ? 1 : 0;
    plan.values.push(fromSlots(bits, [x, 1]));
    plan.witnessIndices.push(x);
  }
  plan.witnessIndices.push(marked.length - layout.min);
  return plan;
}

/** Number of membership branches × components the contest's proofs have (one pool nonce each). */
export function branchComponents(layout: ContestLayout, bits: number): number {
  return statementShapes(layout, bits).reduce((n, s) => n + s.allowed.length * (s.allowed[0]?.length ?? 0), 0);
}

export type { Choice };
