// The three charts of a channel or a broadcast (viewers, chat messages, bitrate) fed from one
// series reply (GET .../series, docs/api.md) and kept moving by live samples.

import * as fmt from '../lib/format.js';
import { h } from '../lib/dom.js';
import { SeriesChart } from './series-chart.js';

export function seriesCharts(container) {
  const viewers = h('div', { class: 'chart', id: 'chart-viewers' });
  const chat = h('div', { class: 'chart', id: 'chart-chat' });
  const bitrate = h('div', { class: 'chart', id: 'chart-bitrate' });
  container.append(viewers, chat, bitrate);
  return {
    viewers: new SeriesChart(viewers, { label: 'Viewers', colorVar: '--chart-viewers', format: fmt.count, integer: true, tall: true }),
    chat: new SeriesChart(chat, { label: 'Chat messages', colorVar: '--chart-chat', format: fmt.count, integer: true }),
    bitrate: new SeriesChart(bitrate, { label: 'Bitrate', colorVar: '--chart-bitrate', format: fmt.bitrate }),
  };
}

// Live samples folded into the series' buckets ([t, t + step) from the series' `from`, as the
// API builds them): the newest bucket's viewers and bitrate are the latest sample's, its chat
// the sum of the samples' chat. Returns addSample(sample, options) for the three charts.
export function liveBuckets(charts, series) {
  const origin = Date.parse(series.from ?? series.points?.[0]?.t ?? new Date().toISOString());
  const step = Math.max(1, Number(series.step_seconds) || 1) * 1000;
  const points = series.points ?? [];
  const last = points[points.length - 1];
  let bucket = last ? { start: Date.parse(last.t), chat: Number(last.chat) || 0 } : null;
  return (sample, options = {}) => {
    const x = Date.parse(sample.t);
    if (Number.isNaN(x)) return;
    const start = origin + Math.floor((x - origin) / step) * step;
    if (bucket && start < bucket.start) return;  // older than what is drawn
    const chat = fmt.known(sample.chat) ? Number(sample.chat) : null;
    if (bucket && start === bucket.start) bucket.chat += chat ?? 0;
    else bucket = { start, chat: chat ?? 0 };
    charts.viewers.addPoint(start, sample.viewers, options);
    charts.chat.addPoint(start, chat === null && bucket.chat === 0 ? null : bucket.chat, options);
    charts.bitrate.addPoint(start, sample.bitrate_kbps, options);
  };
}

export function showSeries(charts, series, from, to) {
  const points = series.points ?? [];
  const pick = (field) => points.map((p) => ({ x: Date.parse(p.t), y: fmt.known(p[field]) ? Number(p[field]) : null }));
  for (const chart of Object.values(charts)) chart.setRange(from, to);
  charts.viewers.setPoints(pick('viewers'));
  charts.chat.setPoints(pick('chat'));
  charts.bitrate.setPoints(pick('bitrate_kbps'));
}
