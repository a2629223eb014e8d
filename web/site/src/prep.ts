/**
 * PREP, the preliminary results from the mesas' captured tally sheets (docs/record.md "PREP: capture and
 * snapshots"): `urna site --snapshots DIR` serves the publisher's snapshot directory as it is, and this
 * section reads `snapshots/latest.json`, the newest snapshot's `results.json`, and the `snapshot.json` of the
 * snapshots before it for the progress chart. Every figure links to the snapshot file it is read from.
 */

import { CategoryScale, Chart, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';
import type { Figure } from './data.js';
import { getJson } from './data.js';
import { h } from '@urna/ui/dom';
import { lang, num, t } from './i18n.js';

Chart.register(LineController, LineElement, PointElement, CategoryScale, LinearScale, Tooltip);

/** How many earlier snapshots the progress chart reads at most (the newest ones). */
export const HISTORY = 96;

export interface Progress {
  expected: number;
  captured: number;
  counted: number;
  disputed: number;
}

export interface PrepResults {
  format: string;
  electionId: string;
  actas: Progress;
  turnout: { voted: number; ballots: number };
  contests: { contest: string; title: string; actasCounted: number; ballots: number; counts: { choice: string; label: string; votes: number }[]; districts: { district: string; actasCounted: number; ballots: number; votes: number[] }[] }[];
  districts: { district: string; name: string; actas: Progress; turnout: { voted: number; ballots: number } }[];
}

export interface Latest {
  sequence: number;
  path: string;
  digest: string;
}

interface SnapshotBody {
  sequence: number;
  createdAt: string;
  actas: Progress;
}

export interface Prep {
  latest: Latest;
  createdAt: string;
  results: PrepResults;
  /** `(createdAt, actas)` of the newest snapshots, oldest first. */
  history: { sequence: number; createdAt: string; actas: Progress }[];
}

/** The directory name of snapshot `sequence` (six digits, as the publisher names it). */
export function dirName(sequence: number): string {
  return String(sequence).padStart(6, '0');
}

export async function loadPrep(): Promise<Prep> {
  const latest = (await getJson('snapshots/latest.json')) as Latest;
  const results = (await getJson(`snapshots/${latest.path}/results.json`)) as PrepResults;
  const first = Math.max(1, latest.sequence - HISTORY + 1);
  const bodies = await Promise.all(
    Array.from({ length: latest.sequence - first + 1 }, async (_, i) => {
      const s = (await getJson(`snapshots/${dirName(first + i)}/snapshot.json`)) as { body: SnapshotBody };
      return s.body;
    }),
  );
  const history = bodies.map((b) => ({ sequence: b.sequence, createdAt: b.createdAt, actas: b.actas }));
  return { latest, results, createdAt: bodies[bodies.length - 1]?.createdAt ?? '', history };
}

/** A figure of the newest snapshot's `results.json`. */
function prepFig(p: Prep, value: number, pointer: string): Figure {
  return { value, file: `snapshots/${p.latest.path}/results.json`, pointers: [pointer] };
}

function progressChart(p: Prep): HTMLElement {
  const labels = p.history.map((s) => new Date(s.createdAt).toLocaleTimeString(lang() === 'es' ? 'es-MX' : 'en-US', { hour: '2-digit', minute: '2-digit' }));
  const summary = p.history.map((s, i) => `${labels[i] ?? ''}: ${num(s.actas.counted)}`).join('; ');
  const canvas = h('canvas', { role: 'img', 'aria-label': t('prepChartLabel', { expected: num(p.results.actas.expected), summary }) });
  const box = h('div', { class: 'chart line' }, canvas);
  box.style.height = '220px';
  new Chart(canvas, {
    type: 'line',
    data: {
      labels,
      datasets: [
        { label: t('prepCounted'), data: p.history.map((s) => s.actas.counted), borderColor: '#0b4f8a', backgroundColor: '#0b4f8a', stepped: true, pointRadius: 2 },
        { label: t('prepCaptured'), data: p.history.map((s) => s.actas.captured), borderColor: '#b3470e', backgroundColor: '#b3470e', borderDash: [6, 4], stepped: true, pointRadius: 0 },
      ],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { tooltip: { mode: 'index', intersect: false } },
      scales: {
        y: { beginAtZero: true, suggestedMax: p.results.actas.expected, ticks: { precision: 0, color: '#1a1a1a' }, grid: { color: '#d9dbe0' } },
        x: { ticks: { color: '#1a1a1a', maxRotation: 0, autoSkip: true }, grid: { display: false } },
      },
    },
  });
  return box;
}

/** The PREP section; `fig` renders a figure as the rest of the page does. */
export function prepSection(p: Prep, fig: (f: Figure, testid?: string) => HTMLElement, pct: (part: number, whole: number) => string): HTMLElement {
  const r = p.results;
  const when = new Date(p.createdAt).toLocaleString(lang() === 'es' ? 'es-MX' : 'en-US', { dateStyle: 'long', timeStyle: 'short' });
  return h(
    'section',
    { id: 'prep', 'aria-labelledby': 'prep-h' },
    h('h2', { id: 'prep-h' }, t('prepTitle')),
    h('p', {}, t('prepIntro', { sequence: p.latest.sequence, time: when })),
    h(
      'div',
      { class: 'stats' },
      h('div', { class: 'stat' }, h('span', { class: 'stat-value' }, fig(prepFig(p, r.actas.counted, '/actas/counted'), 'prep-counted'), ' / ', fig(prepFig(p, r.actas.expected, '/actas/expected'), 'prep-expected')), h('span', { class: 'stat-label' }, t('prepActasCounted'))),
      h('div', { class: 'stat' }, h('span', { class: 'stat-value' }, pct(r.actas.counted, r.actas.expected)), h('span', { class: 'stat-label' }, t('prepShareCounted'))),
      h('div', { class: 'stat' }, h('span', { class: 'stat-value' }, fig(prepFig(p, r.turnout.voted, '/turnout/voted'), 'prep-voted')), h('span', { class: 'stat-label' }, t('prepVoted'))),
    ),
    progressChart(p),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { 'data-testid': 'prep-districts' },
        h('caption', {}, t('prepByDistrict')),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('district')), h('th', { scope: 'col', class: 'n' }, t('prepExpected')), h('th', { scope: 'col', class: 'n' }, t('prepCaptured')), h('th', { scope: 'col', class: 'n' }, t('prepCounted')), h('th', { scope: 'col', class: 'n' }, '%'), h('th', { scope: 'col', class: 'n' }, t('prepVoted')))),
        h(
          'tbody',
          {},
          r.districts.map((d, i) =>
            h('tr', { 'data-district': d.district }, h('th', { scope: 'row' }, d.name), h('td', { class: 'n' }, fig(prepFig(p, d.actas.expected, `/districts/${String(i)}/actas/expected`))), h('td', { class: 'n' }, fig(prepFig(p, d.actas.captured, `/districts/${String(i)}/actas/captured`))), h('td', { class: 'n' }, fig(prepFig(p, d.actas.counted, `/districts/${String(i)}/actas/counted`))), h('td', { class: 'n' }, pct(d.actas.counted, d.actas.expected)), h('td', { class: 'n' }, fig(prepFig(p, d.turnout.voted, `/districts/${String(i)}/turnout/voted`))))),
        ),
      ),
    ),
    r.contests
      .filter((c) => c.actasCounted > 0)
      .map((c) => {
        const ci = r.contests.indexOf(c);
        return h(
          'div',
          { class: 'table-wrap prep-contest', 'data-contest': c.contest },
          h(
            'table',
            {},
            h('caption', {}, c.title, ' · ', fig(prepFig(p, c.ballots, `/contests/${String(ci)}/ballots`)), ' ', t('ballotsWord')),
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('choice')), h('th', { scope: 'col', class: 'n' }, t('votes')), h('th', { scope: 'col', class: 'n' }, t('share')))),
            h('tbody', {}, c.counts.map((k, j) => h('tr', { 'data-choice': k.choice }, h('th', { scope: 'row' }, k.label), h('td', { class: 'n' }, fig(prepFig(p, k.votes, `/contests/${String(ci)}/counts/${String(j)}/votes`))), h('td', { class: 'n' }, pct(k.votes, c.ballots))))),
          ),
        );
      }),
    h('p', { class: 'hint' }, t('prepVerify')),
    h('pre', {}, h('code', {}, 'urna verify snapshots DIR')),
  );
}
