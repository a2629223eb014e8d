import { describe, expect, it } from 'vitest';
import type { Contest } from '@urna/crypto';
import { check, coalitionOf, emptyMarks, toggle } from '../src/ballot.js';

const president: Contest = {
  id: 'president', title: 'Presidencia', kind: 'singleChoice', districts: ['mx'],
  parties: ['pan', 'pri', 'prd', 'pvem', 'pt', 'morena', 'mc'].map((id) => ({ id, name: id.toUpperCase() })),
  coalitions: [
    { id: 'fch', name: 'Fuerza y Corazón', parties: ['pan', 'pri', 'prd'] },
    { id: 'shh', name: 'Sigamos Haciendo Historia', parties: ['pvem', 'pt', 'morena'] },
  ],
  writeIn: true, null: true,
};
const council: Contest = {
  id: 'council', title: 'Concejalía', kind: 'multiChoice', districts: ['centro'], minSelections: 1, maxSelections: 2,
  options: [{ id: 'c1', name: 'Uno' }, { id: 'c2', name: 'Dos' }, { id: 'c3', name: 'Tres' }],
};
const referendum: Contest = { id: 'ref', title: 'Consulta', kind: 'singleChoice', districts: ['mx'], parties: [{ id: 'si', name: 'Sí' }, { id: 'no', name: 'No' }], blank: true };

function marks(c: Contest, ...ids: string[]) {
  let m = emptyMarks([c])[c.id]!;
  const cleared: string[][] = [];
  for (const id of ids) {
    const r = toggle(c, m, id);
    m = r.marks;
    cleared.push(r.cleared);
  }
  return { m, cleared };
}

describe('single choice with coalitions', () => {
  it('joins parties of one coalition into one choice', () => {
    const { m } = marks(president, 'pan', 'pri');
    expect(m.marked).toEqual(['pan', 'pri']);
    expect(check(president, m).selection).toEqual({ contestId: 'president', choices: ['pan', 'pri'] });
    expect(coalitionOf(president, m.marked)).toBe('Fuerza y Corazón');
  });

  it('makes an over-vote impossible: a party of another coalition replaces the marks', () => {
    const { m, cleared } = marks(president, 'pan', 'pri', 'morena');
    expect(m.marked).toEqual(['morena']);
    expect(cleared[2]).toEqual(['pan', 'pri']);
    const { m: m2 } = marks(president, 'pan', 'mc');
    expect(m2.marked).toEqual(['mc']);
  });

  it('keeps write-in, blank and null exclusive', () => {
    expect(marks(president, 'pan', 'pri', 'null').m.marked).toEqual(['null']);
    expect(marks(president, 'null', 'pan').m.marked).toEqual(['pan']);
    const w = marks(president, 'write-in').m;
    expect(check(president, w).problems).toEqual(['writeInEmpty']);
    expect(check(president, { ...w, writeIn: '  Nombre Libre ' }).selection).toEqual({ contestId: 'president', choices: ['write-in'], writeIn: 'Nombre Libre' });
    expect(check(president, { ...w, writeIn: 'x'.repeat(257) }).problems).toEqual(['writeInTooLong']);
  });

  it('toggles a mark off', () => {
    expect(marks(president, 'pan', 'pan').m.marked).toEqual([]);
  });

  it('refuses an empty contest without a blank option, and counts it blank where there is one', () => {
    expect(check(president, emptyMarks([president]).president!).problems).toEqual(['required']);
    const blank = check(referendum, emptyMarks([referendum]).ref!);
    expect(blank.warnings).toEqual(['unmarkedBlank']);
    expect(blank.selection).toEqual({ contestId: 'ref', choices: ['blank'] });
  });
});

describe('multi choice', () => {
  it('refuses a mark beyond the maximum', () => {
    let m = emptyMarks([council]).council!;
    m = toggle(council, m, 'c3').marks;
    m = toggle(council, m, 'c1').marks;
    const r = toggle(council, m, 'c2');
    expect(r.refused).toBe(true);
    expect(r.marks.marked).toEqual(['c3', 'c1']);
    // Manifest order, whatever the marking order.
    expect(check(council, m).selection).toEqual({ contestId: 'council', choices: ['c1', 'c3'] });
    expect(check(council, m).warnings).toEqual([]);
  });

  it('warns of an under-vote and refuses fewer than the minimum', () => {
    expect(check(council, marks(council, 'c2').m).warnings).toEqual(['underVote']);
    expect(check(council, emptyMarks([council]).council!).problems).toEqual(['belowMin']);
  });
});
