/**
 * The deterministic choice numbering (docs/protocol.md §4.1): each party alone in ballot order; then for each
 * coalition each subset of two or more of its parties in increasing binary order (bit i = the coalition's
 * i-th party); then write-in, blank, null where offered. Multi-choice contests number their options.
 */

import type { Contest } from './manifest.js';

export type ChoiceKind = 'party' | 'coalitionSubset' | 'writeIn' | 'blank' | 'null' | 'option';

export interface Choice {
  index: number;
  /** A party id, marked party ids joined by `+` in coalition order, `write-in`, `blank`, `null`, or an option id. */
  id: string;
  kind: ChoiceKind;
  /** Party or option ids this choice marks (one for a party, two or more for a coalition subset, none otherwise). */
  marks: string[];
}

export const WRITE_IN = 'write-in';
export const BLANK = 'blank';
export const NULL = 'null';

export function choices(contest: Contest): Choice[] {
  const out: Choice[] = [];
  const push = (id: string, kind: ChoiceKind, marks: string[]): void => {
    out.push({ index: out.length, id, kind, marks });
  };
  if (contest.kind === 'multiChoice') {
    for (const o of contest.options ?? []) push(o.id, 'option', [o.id]);
    return out;
  }
  for (const p of contest.parties ?? []) push(p.id, 'party', [p.id]);
  for (const co of contest.coalitions ?? []) {
    for (let mask = 1; mask < 1 << co.parties.length; mask++) {
      const marked = co.parties.filter((_, i) => (mask & (1 << i)) !== 0);
      if (marked.length >= 2) push(marked.join('+'), 'coalitionSubset', marked);
    }
  }
  if (contest.writeIn === true) push(WRITE_IN, 'writeIn', []);
  if (contest.blank === true) push(BLANK, 'blank', []);
  if (contest.null === true) push(NULL, 'null', []);
  return out;
}

/**
 * The index of the choice named `id`; a coalition subset may name its parties in any order, and a set of marked
 * party ids (what a voter ticks on the ballot) resolves the same way.
 */
export function choiceIndex(all: readonly Choice[], id: string): number | undefined {
  const exact = all.find((c) => c.id === id);
  if (exact !== undefined) return exact.index;
  const wanted = id.split('+').sort().join('+');
  return all.find((c) => c.kind === 'coalitionSubset' && [...c.marks].sort().join('+') === wanted)?.index;
}
