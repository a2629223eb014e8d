import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ElectionManifest } from '@urna/crypto/manifest';
import { canonical, digest, draft, loadKey, sign, signingMessage, toHex, type ActaBody, type SignedActa } from '../src/acta.js';
import { ballotOf, choiceName, parseCount, resultsBody, type ResultsEntry } from '../src/results.js';

/** Written by workloads/urna/tests/mesa_console.rs with urna_vote::acta (Rust). */
interface Fixture {
  seeds: Record<string, string>;
  acta: SignedActa;
  canonical: string;
  sha256: string;
  signingMessage: string;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/results-acta.json', import.meta.url), 'utf8')) as Fixture;

describe('a results acta', () => {
  it('encodes, hashes and is signed byte for byte as urna_vote::acta does', async () => {
    const f = fixture.acta.document;
    // Built here, fields in another order than serde's, so the encoding cannot just echo the fixture.
    const body: ActaBody = {
      contests: [
        { counts: [{ votes: 150, choice: 'verde' }, { votes: 120, choice: 'azul' }, { votes: 9, choice: 'verde+azul' }, { votes: 3, choice: 'write-in' }, { votes: 20, choice: 'blank' }, { votes: 110, choice: 'null' }], contest: 'alcaldia' },
        { contest: 'consulta', counts: [{ choice: 'si', votes: 300 }, { choice: 'no', votes: 0 }] },
      ],
      ballots: 412,
      source: 'paper',
      kind: 'results',
    };
    const doc = draft(f.electionId, f.mesa, new Date(f.signedAt), body);
    expect(doc).toEqual(f);
    expect(canonical(doc)).toBe(fixture.canonical);
    const d = await digest(doc);
    expect(toHex(d)).toBe(fixture.sha256);
    expect(toHex(signingMessage(doc.electionId, doc.mesa, 'results', d))).toBe(fixture.signingMessage);
    let acta: SignedActa = { document: doc, signatures: [] };
    for (const member of ['bea', 'ana']) acta = await sign(acta, member, await loadKey(fixture.seeds[member] ?? ''));
    expect(acta).toEqual(fixture.acta);
  });
});

const manifest: ElectionManifest = {
  electionId: 'municipal-2027',
  title: 'Municipal 2027',
  districts: [{ id: 'ciudad', name: 'Ciudad' }, { id: 'centro', name: 'Centro', parent: 'ciudad' }, { id: 'norte', name: 'Norte', parent: 'ciudad' }],
  contests: [
    {
      id: 'alcaldia', title: 'Alcaldía', kind: 'singleChoice', districts: ['ciudad'],
      parties: [{ id: 'verde', name: 'Partido Verde', candidate: 'Ana Ruiz' }, { id: 'azul', name: 'Azul' }],
      coalitions: [{ id: 'juntos', name: 'Juntos', parties: ['verde', 'azul'] }],
      writeIn: true, blank: true, null: true,
    },
    { id: 'norte-obra', title: 'Obra del norte', kind: 'singleChoice', districts: ['norte'], parties: [{ id: 'si', name: 'Sí' }] },
    {
      id: 'consejo', title: 'Consejo', kind: 'multiChoice', districts: ['centro'], maxSelections: 2,
      options: [{ id: 'o1', name: 'Uno' }, { id: 'o2', name: 'Dos' }, { id: 'o3', name: 'Tres' }],
    },
  ],
};

function entry(source: 'booths' | 'paper', ballots: string, alcaldia: string[], consejo: string[]): ResultsEntry {
  const ids = ['verde', 'azul', 'verde+azul', 'write-in', 'blank', 'null'];
  return {
    source, ballots,
    votes: {
      alcaldia: Object.fromEntries(ids.map((id, i) => [id, alcaldia[i] ?? ''])),
      consejo: Object.fromEntries(['o1', 'o2', 'o3'].map((id, i) => [id, consejo[i] ?? ''])),
    },
  };
}

describe('the results form', () => {
  it('has the contests of the district ballot in manifest order, each with its choice numbering', () => {
    const ballot = ballotOf(manifest, 'centro');
    expect(ballot.map((b) => [b.contest.id, b.most, b.choices.map((c) => c.id)])).toEqual([
      ['alcaldia', 1, ['verde', 'azul', 'verde+azul', 'write-in', 'blank', 'null']],
      ['consejo', 2, ['o1', 'o2', 'o3']],
    ]);
    const [alcaldia] = ballot;
    expect(alcaldia?.choices.map((c) => choiceName(alcaldia.contest, c))).toEqual([
      { text: 'Partido Verde (Ana Ruiz)' }, { text: 'Azul' }, { text: 'Partido Verde + Azul' },
      { special: 'writeIn' }, { special: 'blank' }, { special: 'null' },
    ]);
    expect(() => ballotOf(manifest, 'sur')).toThrow();
  });

  it('reads counts as whole numbers only', () => {
    expect(parseCount(' 12 ')).toBe(12);
    expect(parseCount('0')).toBe(0);
    for (const bad of ['', '-1', '1.5', '1e3', 'x', '99999999999999999999', undefined]) expect(parseCount(bad)).toBeNull();
  });

  it('drafts the body the service accepts, in numbering order', () => {
    const ballot = ballotOf(manifest, 'centro');
    const r = resultsBody(ballot, entry('booths', '5', ['2', '1', '0', '0', '1', '1'], ['5', '4', '1']), { admissions: 6, boothBallots: 5 });
    expect(r).toEqual({
      body: {
        kind: 'results', source: 'booths', ballots: 5, contests: [
          { contest: 'alcaldia', counts: [{ choice: 'verde', votes: 2 }, { choice: 'azul', votes: 1 }, { choice: 'verde+azul', votes: 0 }, { choice: 'write-in', votes: 0 }, { choice: 'blank', votes: 1 }, { choice: 'null', votes: 1 }] },
          { contest: 'consejo', counts: [{ choice: 'o1', votes: 5 }, { choice: 'o2', votes: 4 }, { choice: 'o3', votes: 1 }] },
        ],
      },
    });
  });

  it('refuses what the service would: more votes than the ballots hold, a booth count that is not the booths\', more paper than admitted, blanks', () => {
    const ballot = ballotOf(manifest, 'centro');
    const mesa = { admissions: 6, boothBallots: 5 };
    // 6 votes on 5 ballots of one choice each; 11 on 5 ballots of at most two (10 is the most).
    expect(resultsBody(ballot, entry('booths', '5', ['6', '0', '0', '0', '0', '0'], ['5', '5', '1']), mesa)).toEqual({
      problems: [
        { kind: 'tooMany', contest: 'alcaldia', sum: '6', ballots: 5, most: 1 },
        { kind: 'tooMany', contest: 'consejo', sum: '11', ballots: 5, most: 2 },
      ],
    });
    expect(resultsBody(ballot, entry('booths', '4', ['1', '0', '0', '0', '0', '0'], ['0', '0', '0']), mesa)).toEqual({ problems: [{ kind: 'booths', ballots: 4, recorded: 5 }] });
    expect('body' in resultsBody(ballot, entry('paper', '6', ['6', '0', '0', '0', '0', '0'], ['0', '0', '0']), mesa)).toBe(true);
    expect(resultsBody(ballot, entry('paper', '7', ['1', '0', '0', '0', '0', '0'], ['0', '0', '0']), mesa)).toEqual({ problems: [{ kind: 'paper', ballots: 7, admissions: 6 }] });
    expect(resultsBody(ballot, entry('paper', '', ['1', '', '0', '0', '0', '0'], ['0', '0', 'x']), mesa)).toEqual({
      problems: [{ kind: 'ballots' }, { kind: 'votes', contest: 'alcaldia', choices: ['azul'] }, { kind: 'votes', contest: 'consejo', choices: ['o3'] }],
    });
  });
});
