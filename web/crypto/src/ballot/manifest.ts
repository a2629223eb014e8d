/**
 * The election manifest as the vote service and the record publish it (camelCase JSON of the Rust
 * `ElectionManifest`), its validation, its hash (docs/protocol.md §4.5) and ballot styles.
 */

import { Transcript } from '../transcript.js';

export const DEFAULT_SLOT_BITS = 20;

export interface District { id: string; name: string; parent?: string }
export interface Party { id: string; name: string; candidate?: string }
export interface Coalition { id: string; name: string; candidate?: string; parties: string[] }
export interface ContestOption { id: string; name: string; list?: string }
export type ContestKind = 'singleChoice' | 'multiChoice';

export interface Contest {
  id: string;
  title: string;
  kind: ContestKind;
  districts: string[];
  parties?: Party[];
  coalitions?: Coalition[];
  options?: ContestOption[];
  minSelections?: number;
  maxSelections?: number;
  writeIn?: boolean;
  blank?: boolean;
  null?: boolean;
}

export interface ElectionManifest {
  electionId: string;
  title: string;
  districts: District[];
  contests: Contest[];
  slotBits?: number;
}

export class ManifestError extends Error {
  constructor(readonly path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.name = 'ManifestError';
  }
}

const ID = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function checkId(path: string, id: unknown): void {
  if (typeof id !== 'string' || !ID.test(id)) {
    throw new ManifestError(path, `${JSON.stringify(id)} is not a valid id (lowercase letters, digits and '-', at most 63)`);
  }
}

export function slotBits(m: ElectionManifest): number {
  return m.slotBits ?? DEFAULT_SLOT_BITS;
}

/**
 * The checks of the Rust `validate_manifest` that the ballot encoding depends on: ids, district tree,
 * contest kinds, coalitions over the contest's parties, min/max. A manifest it refuses is refused by the
 * vote service too.
 */
export function validateManifest(m: ElectionManifest): void {
  checkId('electionId', m.electionId);
  const bits = slotBits(m);
  if (!Number.isInteger(bits) || bits < 1 || bits > 32) throw new ManifestError('slotBits', `${String(bits)} is not in 1..=32`);
  if (m.districts.length === 0) throw new ManifestError('districts', 'an election needs at least one district');
  const parents = new Map<string, string | undefined>();
  m.districts.forEach((d, i) => {
    checkId(`districts[${String(i)}].id`, d.id);
    if (parents.has(d.id)) throw new ManifestError(`districts[${String(i)}].id`, `duplicate district id ${JSON.stringify(d.id)}`);
    parents.set(d.id, d.parent);
  });
  m.districts.forEach((d, i) => {
    if (d.parent !== undefined && !parents.has(d.parent)) throw new ManifestError(`districts[${String(i)}].parent`, `unknown district ${JSON.stringify(d.parent)}`);
    let cur = d.parent;
    for (let steps = 0; cur !== undefined; steps++) {
      if (steps > m.districts.length) throw new ManifestError(`districts[${String(i)}].parent`, 'the district tree has a cycle');
      cur = parents.get(cur);
    }
  });
  if (m.contests.length === 0) throw new ManifestError('contests', 'an election needs at least one contest');
  const seen = new Set<string>();
  m.contests.forEach((c, i) => {
    const path = `contests[${String(i)}]`;
    checkId(`${path}.id`, c.id);
    if (seen.has(c.id)) throw new ManifestError(`${path}.id`, `duplicate contest id ${JSON.stringify(c.id)}`);
    seen.add(c.id);
    if (c.districts.length === 0) throw new ManifestError(`${path}.districts`, 'a contest must appear in at least one district');
    c.districts.forEach((d, j) => {
      if (!parents.has(d)) throw new ManifestError(`${path}.districts[${String(j)}]`, `unknown district ${JSON.stringify(d)}`);
    });
    // JSON from outside may carry any kind, whatever the type says.
    const kind: string = c.kind;
    if (kind === 'singleChoice') validateSingle(path, c);
    else if (kind === 'multiChoice') validateMulti(path, c);
    else throw new ManifestError(`${path}.kind`, `unknown contest kind ${JSON.stringify(c.kind)}`);
  });
}

function validateSingle(path: string, c: Contest): void {
  if ((c.options ?? []).length > 0 || c.minSelections !== undefined || c.maxSelections !== undefined) {
    throw new ManifestError(path, 'a singleChoice contest has parties and coalitions, not options or min/max selections');
  }
  const ids = new Set<string>();
  const parties = c.parties ?? [];
  parties.forEach((p, j) => {
    checkId(`${path}.parties[${String(j)}].id`, p.id);
    if (ids.has(p.id)) throw new ManifestError(`${path}.parties[${String(j)}].id`, `duplicate id ${JSON.stringify(p.id)}`);
    ids.add(p.id);
  });
  const inCoalition = new Map<string, string>();
  (c.coalitions ?? []).forEach((co, j) => {
    const cpath = `${path}.coalitions[${String(j)}]`;
    checkId(`${cpath}.id`, co.id);
    if (ids.has(co.id)) throw new ManifestError(`${cpath}.id`, `duplicate id ${JSON.stringify(co.id)}`);
    ids.add(co.id);
    if (co.parties.length < 2) throw new ManifestError(`${cpath}.parties`, 'a coalition joins at least two parties');
    if (co.parties.length > 20) throw new ManifestError(`${cpath}.parties`, 'a coalition of more than 20 parties has too many choices');
    co.parties.forEach((p, k) => {
      if (!parties.some((q) => q.id === p)) throw new ManifestError(`${cpath}.parties[${String(k)}]`, `unknown party ${JSON.stringify(p)}`);
      const other = inCoalition.get(p);
      if (other !== undefined) throw new ManifestError(`${cpath}.parties[${String(k)}]`, `party ${JSON.stringify(p)} is already in coalition ${JSON.stringify(other)}`);
      inCoalition.set(p, co.id);
    });
  });
  if (parties.length === 0 && c.writeIn !== true) throw new ManifestError(`${path}.parties`, 'a singleChoice contest needs parties or a write-in');
}

function validateMulti(path: string, c: Contest): void {
  if ((c.parties ?? []).length > 0 || (c.coalitions ?? []).length > 0 || c.writeIn === true || c.blank === true || c.null === true) {
    throw new ManifestError(path, 'a multiChoice contest has options and min/max selections (a blank ballot is minSelections: 0)');
  }
  const options = c.options ?? [];
  if (options.length === 0) throw new ManifestError(`${path}.options`, 'a multiChoice contest needs options');
  const ids = new Set<string>();
  options.forEach((o, j) => {
    checkId(`${path}.options[${String(j)}].id`, o.id);
    if (ids.has(o.id)) throw new ManifestError(`${path}.options[${String(j)}].id`, `duplicate id ${JSON.stringify(o.id)}`);
    ids.add(o.id);
  });
  const [min, max] = selectionBounds(c);
  if (min > max) throw new ManifestError(`${path}.minSelections`, `${String(min)} exceeds maxSelections ${String(max)}`);
  if (max > options.length || max === 0) throw new ManifestError(`${path}.maxSelections`, `${String(max)} is not in 1..=${String(options.length)} (the number of options)`);
}

/** A multi-choice contest's `[min, max]`; absent fields default to 0 and 1. */
export function selectionBounds(c: Contest): [number, number] {
  return [c.minSelections ?? 0, c.maxSelections ?? 1];
}

/** The contests on the ballot of a voter in `district`: those of the district and its ancestors, in manifest order. */
export function styleContests(m: ElectionManifest, district: string): Contest[] {
  if (!m.districts.some((d) => d.id === district)) throw new ManifestError('ballotStyle', `unknown ballot style (district) ${JSON.stringify(district)}`);
  const chain: string[] = [];
  let cur: string | undefined = district;
  while (cur !== undefined && !chain.includes(cur)) {
    chain.push(cur);
    const id: string = cur;
    cur = m.districts.find((d) => d.id === id)?.parent;
  }
  return m.contests.filter((c) => c.districts.some((d) => chain.includes(d)));
}

/** SHA-256 of the `urna/v1/election-manifest` transcript, field by field (docs/protocol.md §4.5). */
export function manifestHash(m: ElectionManifest): Uint8Array {
  const t = new Transcript('election-manifest').string(m.electionId).string(m.title).integer(slotBits(m));
  t.integer(m.districts.length);
  for (const d of m.districts) t.string(d.id).string(d.name).string(d.parent ?? '');
  t.integer(m.contests.length);
  for (const c of m.contests) {
    t.string(c.id).string(c.title).string(c.kind);
    t.integer(c.districts.length);
    for (const d of c.districts) t.string(d);
    const parties = c.parties ?? [];
    t.integer(parties.length);
    for (const p of parties) t.string(p.id).string(p.name).string(p.candidate ?? '');
    const coalitions = c.coalitions ?? [];
    t.integer(coalitions.length);
    for (const co of coalitions) {
      t.string(co.id).string(co.name).string(co.candidate ?? '').integer(co.parties.length);
      for (const p of co.parties) t.string(p);
    }
    const options = c.options ?? [];
    t.integer(options.length);
    for (const o of options) t.string(o.id).string(o.name).string(o.list ?? '');
    t.integer(c.minSelections ?? 0).integer(c.maxSelections ?? 0);
    t.integer(c.writeIn === true ? 1 : 0).integer(c.blank === true ? 1 : 0).integer(c.null === true ? 1 : 0);
  }
  return t.digest();
}
