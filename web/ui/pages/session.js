// Session (#/session/<id>): the summary a streamer asks for after a broadcast — duration,
// peak and average viewers, chat total and peak rate, bitrate steadiness, title and category
// changes on the timeline — and its graphs (hover shows the value at that time).

import { getJson, apiPath, csvPath, ApiError } from '../lib/api.js';
import { subscribe } from '../lib/live.js';
import { h, setText, errorBox } from '../lib/dom.js';
import * as fmt from '../lib/format.js';
import { StatTiles } from '../widgets/stat-tiles.js';
import { seriesCharts, showSeries, liveBuckets } from '../widgets/series-panel.js';

// Bitrate steadiness: its coefficient of variation (stddev / average) and a verdict.
export function steadiness(bitrate) {
  if (!bitrate || !fmt.known(bitrate.avg) || !fmt.known(bitrate.stddev) || bitrate.avg <= 0) {
    return { value: '—', note: 'no bitrate reported' };
  }
  const cv = bitrate.stddev / bitrate.avg;
  const verdict = cv < 0.05 ? 'very steady' : cv < 0.15 ? 'steady' : cv < 0.3 ? 'variable' : 'unstable';
  return { value: `±${fmt.percent(cv)}`, note: `${verdict} around ${fmt.bitrate(bitrate.avg)}` };
}

function changeTimeline(changes) {
  if (!changes.length) return h('p', { class: 'panel-empty', text: 'Title and category stayed the same.' });
  return h('div', { class: 'panel-body' }, h('ol', { class: 'timeline', id: 'session-changes' }, changes.map((c) =>
    h('li', {},
      h('time', { datetime: c.at ?? '', text: fmt.dateTime(c.at) }),
      h('span', { class: 'change-title', text: c.title ?? '(no title)' }),
      c.category ? h('span', { class: 'change-category', text: c.category }) : null))));
}

export async function render(root, { id }) {
  const cleanups = [];
  let session;
  try {
    session = await getJson(apiPath(`sessions/${encodeURIComponent(id)}`));
  } catch (error) {
    const notFound = error instanceof ApiError && error.status === 404;
    root.replaceChildren(errorBox(notFound ? 'No such broadcast' : 'Could not load the broadcast', error),
      h('p', {}, h('a', { href: '#/', text: '← Back to the overview' })));
    return () => {};
  }
  const channel = session.channel ?? { id: session.channel_id };
  const channelName = channel.name ?? `#${session.channel_id}`;
  const seriesPath = `sessions/${encodeURIComponent(session.id)}/series`;
  const tilesBox = h('section', { 'aria-label': 'Summary' });
  const chartsBox = h('div', { class: 'chart-grid panel-body' });
  const meta = h('p', { class: 'chart-meta' });
  const when = `${fmt.dateTime(session.started_at)} – ${session.ended_at ? fmt.dateTime(session.ended_at) : 'now'}`;

  root.replaceChildren(
    h('div', { class: 'page-header' },
      h('div', {},
        h('p', { class: 'breadcrumb' }, h('a', { href: '#/', text: 'Overview' }), ' / ',
          h('a', { href: `#/channel/${encodeURIComponent(session.channel_id)}`, text: channelName })),
        h('h1', { class: 'page-title' }, h('span', { id: 'session-title', text: session.title || 'Untitled broadcast' }), ' ',
          session.live ? h('span', { class: 'badge live', text: 'live' }) : null),
        h('p', { class: 'page-subtitle' }, when, session.category ? h('span', { text: ` · ${session.category}` }) : null))),
    tilesBox,
    h('section', { class: 'panel', 'aria-label': 'Graph' },
      h('div', { class: 'panel-head' }, h('h2', { class: 'panel-title', text: 'During the broadcast' }),
        h('a', { class: 'button download', text: 'CSV', download: '', href: csvPath(seriesPath) })),
      chartsBox),
    h('section', { class: 'panel', 'aria-label': 'Title and category changes' },
      h('div', { class: 'panel-head' }, h('h2', { class: 'panel-title', text: 'Title and category changes' })),
      changeTimeline(session.changes ?? [])));

  const steady = steadiness(session.bitrate);
  const tiles = new StatTiles(tilesBox, [
    { key: 'duration_seconds', label: 'Duration', format: fmt.duration },
    { key: 'peak_viewers', label: 'Peak viewers', format: fmt.count, tone: () => 'accent' },
    { key: 'avg_viewers', label: 'Average viewers', format: fmt.count },
    { key: 'chat_total', label: 'Chat messages', format: fmt.count },
    { key: 'peak_chat_per_minute', label: 'Peak chat / min', format: fmt.decimal },
    { key: 'steadiness', label: 'Bitrate steadiness', format: (v) => v, note: steady.note },
  ]);
  tiles.update({ ...session, steadiness: steady.value }, { flash: false });

  const charts = seriesCharts(chartsBox);
  chartsBox.append(meta);
  cleanups.push(() => Object.values(charts).forEach((c) => c.destroy()));
  const markers = (session.changes ?? []).map((c) => ({ x: Date.parse(c.at), label: c.title ?? c.category ?? '' }));

  const from = Date.parse(session.started_at);
  let addLive = () => {};
  try {
    const series = await getJson(apiPath(seriesPath), { fresh: Boolean(session.live) });
    const to = session.ended_at ? Date.parse(session.ended_at) : Math.max(Date.now(), from + 60_000);
    showSeries(charts, series, from, to);
    addLive = liveBuckets(charts, series);
    charts.viewers.setMarkers(markers);
    const step = series.step_seconds ? `, one point per ${fmt.duration(series.step_seconds)}` : '';
    setText(meta, `${fmt.count((series.points ?? []).length)} points · ${series.resolution === 'hourly' ? 'hourly table' : 'raw samples'}${step}. Dashed lines mark title changes.`);
  } catch (error) {
    setText(meta, `Graph unavailable: ${error.message}`);
  }

  if (session.live) {
    cleanups.push(subscribe(apiPath('live', { channel: session.channel_id }), {
      sample: (sample) => {
        if (sample.session_id !== session.id) return;
        addLive(sample, { grow: true });
        tiles.update({ duration_seconds: (Date.parse(sample.t) - from) / 1000 });
      },
    }));
  }
  return () => cleanups.forEach((fn) => fn());
}
