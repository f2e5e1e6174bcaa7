// One time-series chart (viewers, chat or bitrate) drawn by Debian's Chart.js
// (libjs-chart.js 3.9, served by the daemon at /vendor/chart.js/). The x axis is linear in
// epoch milliseconds (Chart.js' time axis needs a date adapter Debian does not ship), with our
// own tick labels. Hovering anywhere shows the value at that time, with a crosshair.
//
// const chart = new SeriesChart(container, { label, colorVar, format, integer, tall })
// (integer: y ticks on whole numbers only)
// - setRange(fromMs, toMs); setPoints([{x, y}]); addPoint(x, y) (keeps the range's width,
//   dropping points that fall off the left; { grow: true } widens the range instead); setMarkers([{x, label}]) (vertical lines);
// - container.dataset.points always holds the number of points drawn (tests read it);
// - destroy().

import { Chart, registerables } from '/vendor/chart.js/chart.esm.js';
import { h } from '../lib/dom.js';
import * as fmt from '../lib/format.js';

Chart.register(...registerables);

function cssVar(name, fallback) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

function withAlpha(color, alpha) {
  const hex = color.match(/^#([0-9a-f]{6})$/i);
  if (!hex) return color;
  const n = parseInt(hex[1], 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

// A tick every round interval (multiples of it in epoch time, so on the hour or the day).
function tickStep(spanMs, maxTicks = 7) {
  const minute = 60_000;
  const hour = 60 * minute;
  const steps = [5 * minute, 10 * minute, 15 * minute, 30 * minute, hour, 2 * hour, 3 * hour, 6 * hour,
    12 * hour, 24 * hour, 2 * 24 * hour, 7 * 24 * hour, 14 * 24 * hour, 28 * 24 * hour];
  return steps.find((step) => spanMs / step <= maxTicks) ?? steps[steps.length - 1];
}

// Ticks on round local times (every `step` from local midnight) inside [from, to].
function roundTicks(from, to, step) {
  const offset = -new Date(from).getTimezoneOffset() * 60_000;
  const ticks = [];
  for (let t = Math.ceil((from + offset) / step) * step - offset; t <= to; t += step) ticks.push({ value: t });
  return ticks;
}

// Tick labels suited to the width of the range.
function tickLabel(ms, spanMs) {
  const date = new Date(ms);
  if (spanMs <= 2 * 86400_000) return fmt.clock(date);
  return fmt.shortDate(date);
}

const crosshair = {
  id: 'streamtrackCrosshair',
  afterDatasetsDraw(chart) {
    const active = chart.tooltip?.getActiveElements?.() ?? [];
    if (!active.length) return;
    const { ctx, chartArea } = chart;
    const x = active[0].element.x;
    ctx.save();
    ctx.strokeStyle = cssVar('--muted', '#888');
    ctx.globalAlpha = 0.5;
    ctx.setLineDash([4, 4]);
    ctx.beginPath();
    ctx.moveTo(x, chartArea.top);
    ctx.lineTo(x, chartArea.bottom);
    ctx.stroke();
    ctx.restore();
  },
};

const markers = {
  id: 'streamtrackMarkers',
  afterDatasetsDraw(chart, _args, options) {
    const list = options?.items ?? [];
    if (!list.length) return;
    const { ctx, chartArea, scales } = chart;
    ctx.save();
    ctx.strokeStyle = cssVar('--accent', '#8b6cff');
    ctx.fillStyle = cssVar('--accent', '#8b6cff');
    ctx.font = '600 11px system-ui, sans-serif';
    ctx.setLineDash([3, 3]);
    for (const marker of list) {
      const x = scales.x.getPixelForValue(marker.x);
      if (x < chartArea.left || x > chartArea.right) continue;
      ctx.beginPath();
      ctx.moveTo(x, chartArea.top);
      ctx.lineTo(x, chartArea.bottom);
      ctx.stroke();
      if (marker.label) {
        const text = marker.label.length > 28 ? `${marker.label.slice(0, 27)}…` : marker.label;
        ctx.fillText(text, Math.min(x + 4, chartArea.right - ctx.measureText(text).width), chartArea.top + 11);
      }
    }
    ctx.restore();
  },
};

export class SeriesChart {
  constructor(container, { label, colorVar, format = fmt.count, integer = false, tall = false }) {
    this.container = container;
    this.format = format;
    this.nowValue = h('span', { class: 'chart-now', text: '—' });
    this.canvas = h('canvas', { role: 'img', 'aria-label': `${label} over time` });
    container.classList.add('chart-card');
    container.append(
      h('div', { class: 'chart-head' }, h('span', { class: 'chart-label', text: label }), this.nowValue),
      h('div', { class: `chart-canvas-box${tall ? ' tall' : ''}` }, this.canvas));
    const color = cssVar(colorVar, '#8b6cff');
    this.range = { from: Date.now() - 3600_000, to: Date.now() };
    this.points = [];
    this.chart = new Chart(this.canvas, {
      type: 'line',
      data: {
        datasets: [{
          label,
          data: this.points,
          borderColor: color,
          backgroundColor: withAlpha(color, 0.14),
          fill: 'origin',
          borderWidth: 2,
          pointRadius: 0,
          pointHoverRadius: 4,
          pointHitRadius: 6,
          tension: 0.3,
          cubicInterpolationMode: 'monotone',
          spanGaps: false,
        }],
      },
      options: {
        animation: false,
        parsing: false,
        normalized: true,
        maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false, axis: 'x' },
        plugins: {
          legend: { display: false },
          streamtrackMarkers: { items: [] },
          tooltip: {
            displayColors: false,
            callbacks: {
              title: (items) => (items.length ? fmt.dateTime(items[0].parsed.x) : ''),
              label: (item) => `${label}: ${this.format(item.parsed.y)}`,
            },
          },
        },
        scales: {
          x: {
            type: 'linear',
            min: this.range.from,
            max: this.range.to,
            grid: { color: cssVar('--chart-grid', 'rgba(128,128,128,0.15)') },
            ticks: {
              color: cssVar('--muted', '#888'),
              maxTicksLimit: 8,
              maxRotation: 0,
              callback: (value) => tickLabel(value, this.range.to - this.range.from),
            },
            afterBuildTicks: (scale) => {
              // About one label per 64 px, so a phone's narrow chart stays readable.
              const maxTicks = Math.max(3, Math.min(8, Math.floor((scale.chart.width || 640) / 64)));
              scale.ticks = roundTicks(this.range.from, this.range.to, tickStep(this.range.to - this.range.from, maxTicks));
            },
          },
          y: {
            beginAtZero: true,
            grid: { color: cssVar('--chart-grid', 'rgba(128,128,128,0.15)') },
            ticks: {
              color: cssVar('--muted', '#888'),
              maxTicksLimit: 5,
              precision: integer ? 0 : undefined,
              callback: (value) => this.format(value),
            },
          },
        },
      },
      plugins: [crosshair, markers],
    });
    this.colorVar = colorVar;
    // Light/dark follows the system while the page is open.
    this.scheme = window.matchMedia('(prefers-color-scheme: dark)');
    this.onScheme = () => this.applyColors();
    this.scheme.addEventListener('change', this.onScheme);
    this.publishCount();
  }

  applyColors() {
    const color = cssVar(this.colorVar, '#8b6cff');
    const dataset = this.chart.data.datasets[0];
    dataset.borderColor = color;
    dataset.backgroundColor = withAlpha(color, 0.14);
    for (const axis of [this.chart.options.scales.x, this.chart.options.scales.y]) {
      axis.grid.color = cssVar('--chart-grid', 'rgba(128,128,128,0.15)');
      axis.ticks.color = cssVar('--muted', '#888');
    }
    this.chart.update('none');
  }

  setRange(from, to) {
    this.range = { from, to };
    this.chart.options.scales.x.min = from;
    this.chart.options.scales.x.max = to;
  }

  setPoints(points) {
    this.points.length = 0;
    for (const p of points) this.points.push(p);
    this.updateNow();
    this.chart.update('none');
    this.publishCount();
  }

  // A live point, appended in time order. The window slides so the newest point stays in view
  // (or, with grow: true, widens to include it, keeping its start).
  addPoint(x, y, { grow = false } = {}) {
    const last = this.points[this.points.length - 1];
    if (last && x < last.x) return;
    if (last && x === last.x) last.y = y;
    else this.points.push({ x, y });
    if (x > this.range.to) {
      const width = this.range.to - this.range.from;
      this.setRange(grow ? this.range.from : x - width, x);
    }
    while (this.points.length && this.points[0].x < this.range.from) this.points.shift();
    this.updateNow();
    this.chart.update('none');
    this.publishCount();
  }

  setMarkers(items) {
    this.chart.options.plugins.streamtrackMarkers.items = items;
    this.chart.update('none');
  }

  updateNow() {
    for (let i = this.points.length - 1; i >= 0; i--) {
      if (fmt.known(this.points[i].y)) {
        this.nowValue.textContent = this.format(this.points[i].y);
        return;
      }
    }
    this.nowValue.textContent = '—';
  }

  publishCount() {
    this.container.dataset.points = String(this.points.length);
  }

  destroy() {
    this.scheme.removeEventListener('change', this.onScheme);
    this.chart.destroy();
  }
}
