// Channel (#/channel/<id>[?range=1h|24h|7d|30d]): current figures, viewers/chat/bitrate
// charts over the chosen range that move live as samples commit, the session list and the
// channel's open alerts. Every series and the session list link to their CSV form.

import { getJson, apiPath, csvPath, ApiError } from '../lib/api.js';
import { subscribe } from '../lib/live.js';
import { h, setText, errorBox, replace } from '../lib/dom.js';
import * as fmt from '../lib/format.js';
import { StatTiles } from '../widgets/stat-tiles.js';
import { seriesCharts, showSeries, liveBuckets } from '../widgets/series-panel.js';
import { alertList } from '../widgets/alert-list.js';

export const RANGES = [
  { key: '1h', label: '1 h', ms: 3600_000 },
  { key: '24h', label: '24 h', ms: 86400_000 },
  { key: '7d', label: '7 d', ms: 7 * 86400_000 },
  { key: '30d', label: '30 d', ms: 30 * 86400_000 },
];
const DEFAULT_RANGE = '24h';
const REFETCH_MS = 60_000;

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function sessionTable(items) {
  if (!items.length) return h('p', { class: 'panel-empty', text: 'No broadcasts recorded yet.' });
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
    h('thead', {}, h('tr', {},
      h('th', { text: 'Started' }), h('th', { class: 'right', text: 'Duration' }),
      h('th', { class: 'right', text: 'Peak' }), h('th', { class: 'right hide-phone', text: 'Average' }),
      h('th', { class: 'hide-phone', text: 'Title' }))),
    h('tbody', { id: 'session-rows' }, items.map(sessionRow))));
}

function sessionRow(s) {
  const end = s.ended_at ? Date.parse(s.ended_at) : Date.now();
  const seconds = (end - Date.parse(s.started_at)) / 1000;
  return h('tr', {},
    h('td', {}, h('a', { href: `#/session/${encodeURIComponent(s.id)}`, text: fmt.dateTime(s.started_at) }),
      s.live ? h('span', {}, ' ', h('span', { class: 'badge live', text: 'live' })) : null),
    h('td', { class: 'right', text: fmt.duration(seconds) }),
    h('td', { class: 'right', text: fmt.count(s.peak_viewers) }),
    h('td', { class: 'right hide-phone', text: fmt.count(s.avg_viewers) }),
    h('td', { class: 'hide-phone' }, h('span', { text: s.title ?? '' }),
      s.category ? h('div', { class: 'muted', text: s.category }) : null));
}

export async function render(root, { id, query }) {
  const cleanups = [];
  let channel;
  try {
    channel = await getJson(apiPath(`channels/${encodeURIComponent(id)}`));
  } catch (error) {
    const notFound = error instanceof ApiError && error.status === 404;
    root.replaceChildren(errorBox(notFound ? 'No such channel' : 'Could not load the channel', error),
      h('p', {}, h('a', { href: '#/', text: '← Back to the overview' })));
    return () => {};
  }

  let range = RANGES.find((r) => r.key === query.get('range')) ?? RANGES.find((r) => r.key === DEFAULT_RANGE);
  const liveBadge = h('span', { class: 'badge' });
  const subtitle = h('p', { class: 'page-subtitle' });
  const tilesBox = h('section', { 'aria-label': 'Current figures' });
  const rangeButtons = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Range' });
  const csvLink = h('a', { class: 'button download', text: 'CSV', download: '' });
  const chartsBox = h('div', { class: 'chart-grid panel-body' });
  const resolution = h('p', { class: 'chart-meta' });
  const sessionsBody = h('div', {}, h('p', { class: 'panel-empty', text: 'Loading broadcasts…' }));
  const alertsBody = h('div', {}, h('p', { class: 'panel-empty', text: 'Loading…' }));
  const moreButton = h('button', { class: 'button', type: 'button', text: 'Load older broadcasts', hidden: true });

  root.replaceChildren(
    h('div', { class: 'page-header' },
      h('div', {},
        h('p', { class: 'breadcrumb' }, h('a', { href: '#/', text: 'Overview' }), ' / ', h('span', { text: channel.platform ?? '' })),
        h('h1', { class: 'page-title' }, h('span', { id: 'channel-name', text: channel.name ?? `#${channel.id}` }), ' ', liveBadge),
        subtitle)),
    tilesBox,
    h('section', { class: 'panel', 'aria-label': 'History' },
      h('div', { class: 'panel-head' }, h('h2', { class: 'panel-title', text: 'History' }),
        h('div', { class: 'panel-actions' }, rangeButtons, csvLink)),
      chartsBox),
    h('div', { class: 'two-col' },
      h('section', { class: 'panel', 'aria-label': 'Broadcasts' },
        h('div', { class: 'panel-head' }, h('h2', { class: 'panel-title', text: 'Broadcasts' }),
          h('a', { class: 'button download', text: 'CSV', download: '',
            href: csvPath(`channels/${encodeURIComponent(channel.id)}/sessions`) })),
        sessionsBody, h('div', { class: 'panel-body' }, moreButton)),
      h('section', { class: 'panel', 'aria-label': 'Open alerts' },
        h('div', { class: 'panel-head' }, h('h2', { class: 'panel-title', text: 'Open alerts' })),
        alertsBody)));

  const tiles = new StatTiles(tilesBox, [
    { key: 'viewers', label: 'Viewers', format: fmt.count, tone: () => 'accent' },
    { key: 'chat_per_minute', label: 'Chat / min', format: fmt.decimal },
    { key: 'bitrate_kbps', label: 'Bitrate', format: fmt.bitrate },
    { key: 'last_sample_at', label: 'Last sample', format: fmt.clockSeconds },
  ], { columns: 4 });

  const showChannel = () => {
    setText(liveBadge, channel.live ? 'live' : 'offline');
    liveBadge.className = `badge${channel.live ? ' live' : ''}`;
    setText(subtitle, [channel.title, channel.category].filter(Boolean).join(' · ') || (channel.live ? 'Live now' : 'Not live'));
    tiles.update(channel, { flash: false });
    tiles.note('last_sample_at', fmt.ago(channel.last_sample_at));
  };
  showChannel();

  const charts = seriesCharts(chartsBox);
  chartsBox.append(resolution);
  cleanups.push(() => Object.values(charts).forEach((c) => c.destroy()));

  let seriesResolution = 'raw';
  let addLive = () => {};
  let describeSeries = () => {};
  let lastFetch = 0;
  async function loadSeries() {
    const to = Date.now();
    const from = to - range.ms;
    const params = { from: iso(from), to: iso(to) };
    csvLink.href = csvPath(`channels/${encodeURIComponent(channel.id)}/series`, params);
    lastFetch = to;
    try {
      const series = await getJson(apiPath(`channels/${encodeURIComponent(channel.id)}/series`, params), { fresh: true });
      seriesResolution = series.resolution ?? 'raw';
      showSeries(charts, series, from, to);
      addLive = liveBuckets(charts, series);
      const step = series.step_seconds ? `, one point per ${fmt.duration(series.step_seconds)}` : '';
      describeSeries = () => setText(resolution, `${fmt.count(charts.viewers.points.length)} points · ${seriesResolution === 'hourly' ? 'hourly table' : 'raw samples'}${step}`);
      describeSeries();
    } catch (error) {
      setText(resolution, `History unavailable: ${error.message}`);
    }
  }

  for (const r of RANGES) {
    rangeButtons.append(h('button', { type: 'button', text: r.label, 'aria-pressed': String(r === range), dataset: { range: r.key },
      onclick: () => {
        range = r;
        for (const b of rangeButtons.children) b.setAttribute('aria-pressed', String(b.dataset.range === r.key));
        history.replaceState(null, '', `#/channel/${encodeURIComponent(channel.id)}?range=${r.key}`);
        loadSeries();
      } }));
  }

  let sessionItems = [];
  async function loadSessions(cursor = null, fresh = false) {
    try {
      const page = await getJson(apiPath(`channels/${encodeURIComponent(channel.id)}/sessions`, { limit: 20, cursor }), { fresh });
      sessionItems = cursor ? sessionItems.concat(page.items ?? []) : (page.items ?? []);
      replace(sessionsBody, sessionTable(sessionItems));
      moreButton.hidden = !page.next_cursor;
      moreButton.onclick = () => loadSessions(page.next_cursor);
    } catch (error) {
      replace(sessionsBody, errorBox('Could not load the broadcasts', error));
    }
  }

  async function loadAlerts() {
    try {
      const alerts = await getJson(apiPath('alerts', { state: 'open', channel: channel.id }));
      const mine = (alerts.items ?? []).filter((a) => a.channel_id === channel.id);
      replace(alertsBody, alertList(mine, { emptyText: 'Nothing firing for this channel.' }));
    } catch (error) {
      replace(alertsBody, errorBox('Could not load the alerts', error));
    }
  }

  cleanups.push(subscribe(apiPath('live', { channel: channel.id }), {
    sample: (sample) => {
      if (sample.channel_id !== channel.id) return;
      const wasLive = channel.live;
      const sessionChanged = sample.session_id !== channel.session_id;
      Object.assign(channel, {
        viewers: sample.viewers, bitrate_kbps: sample.bitrate_kbps,
        live: sample.live, session_id: sample.session_id, last_sample_at: sample.t,
      });
      if ('chat_per_minute' in sample) channel.chat_per_minute = sample.chat_per_minute;
      tiles.update(channel);
      showChannel();
      if (seriesResolution === 'raw') {
        addLive(sample);
        describeSeries();
      }
      else if (Date.now() - lastFetch > REFETCH_MS) loadSeries();
      if (sessionChanged || wasLive !== sample.live) loadSessions(null, true);
    },
    resync: () => { loadSeries(); loadSessions(null, true); },
  }));
  const agoTimer = setInterval(() => tiles.note('last_sample_at', fmt.ago(channel.last_sample_at)), 5000);
  cleanups.push(() => clearInterval(agoTimer));

  await Promise.all([loadSeries(), loadSessions(), loadAlerts()]);
  return () => cleanups.forEach((fn) => fn());
}
