/** Turnout per district over time: booth ballots per minute, one line per district (uPlot). */

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { turnoutSeries } from './model.js';

const COLOURS = ['#0b4f8a', '#b35900', '#1a7f37', '#8250df', '#cf222e', '#4a4a4a'];

export interface TurnoutChart {
  set(turnout: Record<string, [number, number][]>): void;
}

export function turnoutChart(el: HTMLElement): TurnoutChart {
  let plot: uPlot | null = null;
  let shape = '';
  const width = (): number => Math.max(260, el.clientWidth);
  new ResizeObserver(() => { plot?.setSize({ width: width(), height: 220 }); }).observe(el);
  return {
    set(turnout) {
      const { districts, data } = turnoutSeries(turnout);
      if (districts.length === 0) return;
      // A new district needs new series: rebuild; otherwise just new data.
      if (plot === null || shape !== districts.join(',')) {
        plot?.destroy();
        shape = districts.join(',');
        plot = new uPlot(
          {
            width: width(),
            height: 220,
            series: [{}, ...districts.map((d, i) => ({ label: d, stroke: COLOURS[i % COLOURS.length] ?? '#000', width: 2 }))],
            axes: [{}, { label: '/min' }],
          },
          data as uPlot.AlignedData,
          el,
        );
      } else {
        plot.setData(data as uPlot.AlignedData);
      }
    },
  };
}
