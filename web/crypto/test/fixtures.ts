/**
 * The cross-implementation fixtures (workloads/ballot/tests/fixtures/browser, docs/protocol.md §7): what each
 * file holds and the ballots the TypeScript side makes. Regenerate with the commands in that directory's README.
 */

import type { Selection } from '../src/ballot/codec.js';
import type { ChallengedBallotJson } from '../src/ballot/challenge.js';
import type { EncryptedBallotJson } from '../src/ballot/encrypted.js';
import type { ElectionManifest } from '../src/ballot/manifest.js';
import { readJson } from './helpers.js';

export const FIXTURES = 'workloads/ballot/tests/fixtures/browser/';

export type ManifestName = 'federal' | 'seeds';

export function manifest(name: ManifestName): ElectionManifest {
  return readJson(`${FIXTURES}manifest-${name}.json`) as ElectionManifest;
}

export interface BallotFixture {
  name: string;
  manifest: ManifestName;
  selections: Selection[];
  ballotHash: string;
  ballot: EncryptedBallotJson;
}

export interface AnonIdFixture { ballotHash: string; preparedMessage: string; signature: string; anonId: string }

export interface BallotsFile {
  generator: string;
  manifestHashes: Record<ManifestName, string>;
  ballots: BallotFixture[];
  anonIds: AnonIdFixture[];
}

export function ballotsFile(language: 'ts' | 'rust'): BallotsFile {
  return readJson(`${FIXTURES}${language}-ballots.json`) as BallotsFile;
}

export function challengeFile(): ChallengedBallotJson {
  return readJson(`${FIXTURES}ts-challenge.json`) as ChallengedBallotJson;
}

/** The TypeScript-made ballots: every contest kind, on the federal example and on the seeds' hard cases. */
export const TS_BALLOTS: { name: string; manifest: ManifestName; style: string; selections: Selection[] }[] = [
  {
    name: 'federal-jalisco-coalition', manifest: 'federal', style: 'jalisco',
    selections: [
      { contestId: 'president', choices: ['pan+pri'] },
      { contestId: 'senate-jalisco', choices: ['mc'] },
      { contestId: 'governor-jalisco', choices: ['pvem', 'morena'] },
    ],
  },
  {
    name: 'federal-chiapas-write-in-null', manifest: 'federal', style: 'chiapas',
    selections: [
      { contestId: 'president', choices: ['write-in'], writeIn: 'Zoé Ñandú Pérez' },
      { contestId: 'senate-chiapas', choices: ['null'] },
      { contestId: 'governor-chiapas', choices: ['pt+pvem+morena'] },
    ],
  },
  {
    name: 'seeds-jalisco-blank-multi', manifest: 'seeds', style: 'jalisco',
    selections: [
      { contestId: 'president', choices: ['morena'] },
      { contestId: 'board', choices: ['o3'] },
      { contestId: 'consulta', choices: ['blank'] },
    ],
  },
];

/** The challenged ballot: chunked (Chiapas governor style), write-in, multi-choice with three marks. */
export const TS_CHALLENGE = {
  name: 'seeds-chiapas-chunked-challenge', manifest: 'seeds' as ManifestName, style: 'chiapas',
  selections: [
    { contestId: 'president', choices: ['write-in'], writeIn: 'Rosario Ibarra' },
    { contestId: 'governor', choices: ['p2+p5+p9'] },
    { contestId: 'board', choices: ['o5', 'o0', 'o2'] },
  ] as Selection[],
};
