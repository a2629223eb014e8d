/**
 * What the voter marks, and the manifest's rules applied before anything is encrypted: an over-vote cannot be
 * marked at all (a mark that would make one is refused or replaces the marks it conflicts with), an under-vote
 * is warned about on the review page, and a ballot that cannot be encrypted (a multi-choice contest below its
 * minimum, an empty write-in) cannot go on. Pure functions over plain data, so they are tested without a DOM.
 */

import { BLANK, type Contest, choiceIndex, choices, NULL, type Selection, WRITE_IN } from '@urna/crypto';

/** The marks of one contest: party, option or special (`write-in`, `blank`, `null`) ids, and the write-in name. */
export interface ContestMarks {
  marked: string[];
  writeIn: string;
}

export type Marks = Record<string, ContestMarks>;

export function emptyMarks(contests: readonly Contest[]): Marks {
  return Object.fromEntries(contests.map((c) => [c.id, { marked: [], writeIn: '' }]));
}

const SPECIAL = new Set([WRITE_IN, BLANK, NULL]);

export function isSpecial(id: string): boolean {
  return SPECIAL.has(id);
}

/** The most marks a contest takes (a coalition's parties for single-choice contests). */
export function maxMarks(contest: Contest): number {
  if (contest.kind === 'multiChoice') return contest.maxSelections ?? 1;
  return Math.max(1, ...(contest.coalitions ?? []).map((c) => c.parties.length));
}

export function minMarks(contest: Contest): number {
  return contest.kind === 'multiChoice' ? (contest.minSelections ?? 0) : 1;
}

/** The result of toggling a mark: the new marks and the ids the toggle unmarked to keep the ballot valid. */
export interface Toggled {
  marks: ContestMarks;
  cleared: string[];
  /** True when the mark was refused (a multi-choice contest already at its maximum). */
  refused: boolean;
}

/**
 * Toggles `id` in `contest`. Single-choice: a special choice replaces every mark; a party joins the marked
 * parties only if together they are one choice of the manifest (the same coalition), otherwise it replaces
 * them. Multi-choice: an option beyond the maximum is refused.
 */
export function toggle(contest: Contest, current: ContestMarks, id: string): Toggled {
  const had = current.marked.includes(id);
  if (had) return { marks: { ...current, marked: current.marked.filter((m) => m !== id) }, cleared: [], refused: false };
  if (contest.kind === 'multiChoice') {
    if (current.marked.length >= maxMarks(contest)) return { marks: current, cleared: [], refused: true };
    return { marks: { ...current, marked: [...current.marked, id] }, cleared: [], refused: false };
  }
  if (isSpecial(id)) return { marks: { ...current, marked: [id] }, cleared: current.marked, refused: false };
  const parties = current.marked.filter((m) => !isSpecial(m));
  const specials = current.marked.filter(isSpecial);
  const together = [...parties, id];
  if (together.length > 1 && choiceIndex(choices(contest), together.join('+')) !== undefined) {
    return { marks: { ...current, marked: together }, cleared: specials, refused: false };
  }
  return { marks: { ...current, marked: [id] }, cleared: current.marked, refused: false };
}

export type Warning = 'unmarkedBlank' | 'underVote';
export type Problem = 'required' | 'belowMin' | 'writeInEmpty' | 'writeInTooLong';

export interface Checked {
  contestId: string;
  /** What gets encrypted, when there is no problem. */
  selection?: Selection;
  warnings: Warning[];
  problems: Problem[];
}

const MAX_WRITE_IN_BYTES = 256;

/** Checks one contest's marks against its rules (module docs) and gives the selection to encrypt. */
export function check(contest: Contest, marks: ContestMarks): Checked {
  const out: Checked = { contestId: contest.id, warnings: [], problems: [] };
  if (contest.kind === 'multiChoice') {
    const n = marks.marked.length;
    if (n < minMarks(contest)) out.problems.push('belowMin');
    else if (n < maxMarks(contest)) out.warnings.push('underVote');
    // The option order of the manifest, whatever order they were marked in.
    const order = (contest.options ?? []).map((o) => o.id);
    const sorted = [...marks.marked].sort((a, b) => order.indexOf(a) - order.indexOf(b));
    if (out.problems.length === 0) out.selection = { contestId: contest.id, choices: sorted };
    return out;
  }
  if (marks.marked.length === 0) {
    if (contest.blank === true) {
      out.warnings.push('unmarkedBlank');
      out.selection = { contestId: contest.id, choices: [BLANK] };
    } else {
      out.problems.push('required');
    }
    return out;
  }
  if (marks.marked[0] === WRITE_IN) {
    const name = marks.writeIn.trim();
    const bytes = new TextEncoder().encode(name).length;
    if (bytes === 0) out.problems.push('writeInEmpty');
    else if (bytes > MAX_WRITE_IN_BYTES) out.problems.push('writeInTooLong');
    else out.selection = { contestId: contest.id, choices: [WRITE_IN], writeIn: name };
    return out;
  }
  out.selection = { contestId: contest.id, choices: [...marks.marked] };
  return out;
}

/** A choice's display name: parties and options by name (and candidate or list), specials by the caller's words. */
export function markName(contest: Contest, id: string): string {
  const party = contest.parties?.find((p) => p.id === id);
  if (party !== undefined) return party.candidate === undefined ? party.name : `${party.name} (${party.candidate})`;
  const option = contest.options?.find((o) => o.id === id);
  if (option !== undefined) return option.list === undefined ? option.name : `${option.name} (${option.list})`;
  return id;
}

/** The coalition whose parties include every marked party, when two or more are marked. */
export function coalitionOf(contest: Contest, marked: readonly string[]): string | undefined {
  if (marked.length < 2) return undefined;
  return contest.coalitions?.find((c) => marked.every((m) => c.parties.includes(m)))?.name;
}
