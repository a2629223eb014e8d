/**
 * The results charts, drawn by Chart.js (tree-shaken to the bar chart). A chart is a picture of the table
 * beside it, which holds the same numbers, each linked to the record: the canvas has `role="img"` and a label
 * that reads the numbers out, so a screen reader loses nothing.
 */

import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from 'chart.js';
import type { SiteCount } from './data.js';
import { h } from '@urna/ui/dom';
import { num, t } from './i18n.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

/** Colours with at least 3:1 contrast against white (WCAG 1.4.11), one per bar in turn. */
const COLOURS = ['#0b4f8a', '#b3470e', '#1d6b35', '#6a3d9a', '#8a1c4a', '#005f66', '#5c5c00', '#4a4a4a'];

/** What the chart's label reads out: every option with its votes. */
export function chartSummary(counts: readonly SiteCount[]): string {
  return counts.map((c) => `${c.label}: ${num(c.votes.value)}`).join('; ');
}

/** A horizontal bar chart of one contest's votes, in a box sized to its number of bars. */
export function barChart(title: string, counts: readonly SiteCount[]): HTMLElement {
  const canvas = h('canvas', { role: 'img', 'aria-label': t('chartLabel', { contest: title, summary: chartSummary(counts) }) });
  const box = h('div', { class: 'chart', 'data-bars': counts.length }, canvas);
  box.style.height = `${String(counts.length * 34 + 24)}px`;
  new Chart(canvas, {
    type: 'bar',
    data: {
      labels: counts.map((c) => c.label),
      datasets: [{ label: t('votes'), data: counts.map((c) => c.votes.value), backgroundColor: counts.map((_, i) => COLOURS[i % COLOURS.length] ?? '#0b4f8a'), barPercentage: 0.8 }],
    },
    options: {
      indexAxis: 'y',
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (item) => num(Number(item.raw)) } } },
      scales: {
        x: { beginAtZero: true, ticks: { precision: 0, color: '#1a1a1a' }, grid: { color: '#d9dbe0' } },
        y: { ticks: { color: '#1a1a1a', autoSkip: false, font: { size: 13 } }, grid: { display: false } },
      },
    },
  });
  return box;
}
