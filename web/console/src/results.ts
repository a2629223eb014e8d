/**
 * The results acta's figures: which contests and choices a mesa's count has (the contests of the district's
 * ballot style in manifest order, each with its choice numbering, both from @urna/crypto: the numbering the
 * ballots use, `urna_ballot::choices` in Rust), and the checks the vote service makes before it accepts the
 * acta (`urna_vote::acta::check_figures` and `check_facts`), made here first so the members fix a figure
 * before they sign it. Pure functions; the page renders them (app.ts).
 */

// The two modules of @urna/crypto this needs, not its index: the console needs no Paillier, proofs or worker.
import { type Choice, choices } from '@urna/crypto/choices';
import { type Contest, type ElectionManifest, styleContests } from '@urna/crypto/manifest';
import type { ActaBody, ContestCount, CountSource } from './acta.js';

/** A contest of the mesa's ballot, with its choices in numbering order. */
export interface BallotContest {
  contest: Contest;
  choices: Choice[];
  /** The most choices one ballot marks in it (`max_selections`, at least 1): a ballot adds at most this many votes. */
  most: number;
}

/** The contests of `district`'s ballot, in manifest order (throws ManifestError for an unknown district). */
export function ballotOf(manifest: ElectionManifest, district: string): BallotContest[] {
  return styleContests(manifest, district).map((contest) => ({
    contest,
    choices: choices(contest),
    most: Math.max(1, contest.maxSelections ?? 1),
  }));
}

/** What a choice is called on the ballot: a party's or option's name, a coalition subset's party names; the rest the page words. */
export type ChoiceName = { text: string } | { special: 'blank' | 'null' | 'writeIn' };

export function choiceName(contest: Contest, choice: Choice): ChoiceName {
  const party = (id: string) => contest.parties?.find((p) => p.id === id);
  switch (choice.kind) {
    case 'party': {
      const p = party(choice.id);
      return { text: p === undefined ? choice.id : p.candidate === undefined || p.candidate === '' ? p.name : `${p.name} (${p.candidate})` };
    }
    case 'coalitionSubset':
      return { text: choice.marks.map((id) => party(id)?.name ?? id).join(' + ') };
    case 'option':
      return { text: contest.options?.find((o) => o.id === choice.id)?.name ?? choice.id };
    case 'writeIn':
      return { special: 'writeIn' };
    case 'blank':
      return { special: 'blank' };
    case 'null':
      return { special: 'null' };
  }
}

/** What the members typed: the source, the ballots counted and each choice's votes, as text. */
export interface ResultsEntry {
  source: CountSource;
  ballots: string;
  /** By contest id, then choice id. */
  votes: Record<string, Record<string, string>>;
}

/** The mesa's figures the checks need, as `GET /v1/mesas/{mesa}/actas` gives them. */
export interface MesaFigures {
  admissions: number;
  boothBallots: number;
}

/** Why the figures cannot be signed yet; the page words each one. */
export type ResultsProblem =
  | { kind: 'ballots' }
  /** Choices of `contest` whose votes are missing or not a whole number, in numbering order. */
  | { kind: 'votes'; contest: string; choices: string[] }
  | { kind: 'tooMany'; contest: string; sum: string; ballots: number; most: number }
  | { kind: 'booths'; ballots: number; recorded: number }
  | { kind: 'paper'; ballots: number; admissions: number };

/** A count as typed: digits only (spaces around allowed), within what a JSON number carries exactly. */
export function parseCount(text: string | undefined): number | null {
  const s = (text ?? '').trim();
  if (!/^\d+$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

/** A contest's votes summed exactly (a sum of safe integers may not be one). */
export function total(counts: readonly { votes: number }[]): bigint {
  return counts.reduce((a, x) => a + BigInt(x.votes), 0n);
}

/**
 * The results body for `entry`, or every problem with it: each figure a whole number, every contest's total at
 * most `ballots` × its most selections, and `ballots` equal to the booth ballots the service recorded (booth
 * count) or at most the voters admitted (paper count), as the service checks.
 */
export function resultsBody(ballot: readonly BallotContest[], entry: ResultsEntry, mesa: MesaFigures): { body: ActaBody & { kind: 'results' } } | { problems: ResultsProblem[] } {
  const problems: ResultsProblem[] = [];
  const ballots = parseCount(entry.ballots);
  if (ballots === null) problems.push({ kind: 'ballots' });
  else if (entry.source === 'booths' && ballots !== mesa.boothBallots) problems.push({ kind: 'booths', ballots, recorded: mesa.boothBallots });
  else if (entry.source === 'paper' && ballots > mesa.admissions) problems.push({ kind: 'paper', ballots, admissions: mesa.admissions });
  const contests: ContestCount[] = ballot.map((b) => {
    const typed = entry.votes[b.contest.id] ?? {};
    const missing: string[] = [];
    const counts = b.choices.map((c) => {
      const votes = parseCount(typed[c.id]);
      if (votes === null) missing.push(c.id);
      return { choice: c.id, votes: votes ?? 0 };
    });
    if (missing.length > 0) problems.push({ kind: 'votes', contest: b.contest.id, choices: missing });
    return { contest: b.contest.id, counts };
  });
  if (ballots !== null) {
    ballot.forEach((b, i) => {
      const sum = total(contests[i]?.counts ?? []);
      if (sum > BigInt(ballots) * BigInt(b.most)) problems.push({ kind: 'tooMany', contest: b.contest.id, sum: sum.toString(), ballots, most: b.most });
    });
  }
  if (problems.length > 0 || ballots === null) return { problems };
  return { body: { kind: 'results', source: entry.source, ballots, contests } };
}
