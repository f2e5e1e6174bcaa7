// Overview (#/): the stats tiles and a live, virtualised list of every channel.
// Data: GET /api/v1/stats, GET /api/v1/channels (all pages), SSE /api/v1/live (sample and
// stats events update the figures in place).

import { getJson, apiPath, connectionState, FRESH_MS } from '../lib/api.js';
import { subscribe } from '../lib/live.js';
import { h, setText, errorBox } from '../lib/dom.js';
import * as fmt from '../lib/format.js';
import { StatTiles } from '../widgets/stat-tiles.js';
import { VirtualList } from '../widgets/virtual-list.js';

const PAGE_SIZE = 500;
const ROW_HEIGHT = 44;
const RESORT_MS = 3000;

const COLUMNS = [
  { key: 'name', label: 'Channel', cls: 'col-name', defaultOrder: 'asc' },
  { key: 'platform', label: 'Platform', cls: 'col-platform', defaultOrder: 'asc' },
  { key: 'viewers', label: 'Viewers', cls: 'col-viewers right', defaultOrder: 'desc' },
  { key: 'chat_per_minute', label: 'Chat/min', cls: 'col-chat right', defaultOrder: 'desc' },
  { key: 'bitrate_kbps', label: 'Bitrate', cls: 'col-bitrate right', defaultOrder: 'desc' },
  { key: 'last_sample_at', label: 'Last sample', cls: 'col-last right', defaultOrder: 'desc' },
];

const TILE_SPECS = [
  { key: 'live_channels', label: 'Live channels', format: fmt.count, tone: (v) => (v > 0 ? 'good' : null) },
  { key: 'viewers_now', label: 'Viewers now', format: fmt.compactCount, tone: () => 'accent' },
  { key: 'peak_viewers_today', label: 'Peak today', format: fmt.compactCount },
  { key: 'chat_per_minute', label: 'Chat / min', format: fmt.compactCount },
  { key: 'agents_online', label: 'Agents online', format: fmt.count },
  { key: 'open_alerts', label: 'Open alerts', format: fmt.count, tone: (v) => (v > 0 ? 'alerting' : 'good') },
];

function compare(key, order) {
  const sign = order === 'asc' ? 1 : -1;
  return (a, b) => {
    let x = a[key];
    let y = b[key];
    if (key === 'last_sample_at') {
      x = x ? Date.parse(x) : null;
      y = y ? Date.parse(y) : null;
    }
    // Unknown figures sort last whatever the order; ties fall back to name, then id.
    const xKnown = fmt.known(x);
    const yKnown = fmt.known(y);
    if (xKnown !== yKnown) return xKnown ? -1 : 1;
    if (xKnown && x !== y) {
      if (typeof x === 'string') return sign * x.localeCompare(y);
      return sign * (x - y);
    }
    const byName = String(a.name ?? '').localeCompare(String(b.name ?? ''));
    return byName !== 0 ? byName : a.id - b.id;
  };
}

function createRow() {
  const dot = h('span', { class: 'live-dot' });
  const name = h('span', { class: 'name' });
  const title = h('span', { class: 'title' });
  const platform = h('span', { class: 'cell platform col-platform' });
  const viewers = h('span', { class: 'cell num col-viewers right' });
  const chat = h('span', { class: 'cell num col-chat right' });
  const bitrate = h('span', { class: 'cell num col-bitrate right' });
  const last = h('span', { class: 'cell col-last right muted' });
  const row = h('a', { class: 'channel-row', role: 'row' },
    h('span', { class: 'cell cell-name col-name' }, dot, h('span', { class: 'name-stack' }, name, title)),
    platform, viewers, chat, bitrate, last);
  row.cells = { dot, name, title, platform, viewers, chat, bitrate, last };
  return row;
}

function updateRow(row, channel) {
  const c = row.cells;
  const sameChannel = row.dataset.channelId === String(channel.id);
  row.dataset.channelId = String(channel.id);
  row.href = `#/channel/${encodeURIComponent(channel.id)}`;
  row.classList.toggle('offline-channel', !channel.live);
  c.dot.classList.toggle('on', Boolean(channel.live));
  c.dot.title = channel.live ? 'live' : 'offline';
  setText(c.name, channel.name ?? `#${channel.id}`);
  setText(c.title, [channel.title, channel.category].filter(Boolean).join(' · '));
  setText(c.platform, channel.platform ?? '');
  setText(c.viewers, fmt.count(channel.viewers), { flash: sameChannel });
  setText(c.chat, fmt.decimal(channel.chat_per_minute), { flash: sameChannel });
  setText(c.bitrate, fmt.bitrate(channel.bitrate_kbps));
  setText(c.last, fmt.ago(channel.last_sample_at));
}

export async function render(root) {
  const cleanups = [];
  const tilesBox = h('section', { 'aria-label': 'Totals' });
  const updated = h('p', { class: 'page-subtitle', text: 'Loading figures…' });
  const countText = h('span', { class: 'count', text: '' });
  const search = h('input', { class: 'search', type: 'search', placeholder: 'Filter by name, title or category', 'aria-label': 'Filter channels' });
  const liveOnly = h('input', { type: 'checkbox' });
  const viewport = h('div', { class: 'list-viewport', role: 'rowgroup', id: 'channel-list' });
  const headerButtons = new Map();
  const columnsRow = h('div', { class: 'list-columns', role: 'row' }, COLUMNS.map((col) => {
    const button = h('button', { type: 'button', text: col.label, onclick: () => sortBy(col.key) });
    headerButtons.set(col.key, button);
    return h('span', { class: `${col.cls}`, role: 'columnheader' }, button);
  }));
  const listStatus = h('p', { class: 'panel-empty', text: 'Loading channels…' });

  root.replaceChildren(
    h('div', { class: 'page-header' },
      h('div', {}, h('h1', { class: 'page-title', text: 'Overview' }), updated)),
    tilesBox,
    h('section', { class: 'panel', 'aria-label': 'Channels' },
      h('div', { class: 'panel-head' },
        h('h2', { class: 'panel-title' }, 'Channels ', countText),
        h('div', { class: 'panel-actions' }, search,
          h('label', { class: 'check' }, liveOnly, 'Live only'))),
      h('div', { class: 'channel-table', role: 'table', 'aria-label': 'Channels' }, columnsRow, listStatus, viewport)));

  const tiles = new StatTiles(tilesBox, TILE_SPECS);
  const byId = new Map();
  let all = [];
  let shown = [];
  let sort = { key: 'viewers', order: 'desc' };
  let dirtyOrder = false;

  const list = new VirtualList({ viewport, rowHeight: ROW_HEIGHT, createRow, updateRow, keyOf: (c) => c.id });
  cleanups.push(() => list.destroy());

  const showStats = (stats) => {
    tiles.update(stats);
    setText(updated, `Figures at ${fmt.clockSeconds(stats.generated_at ?? new Date())}`);
  };

  function matches(channel, needle) {
    if (liveOnly.checked && !channel.live) return false;
    if (!needle) return true;
    return [channel.name, channel.title, channel.category, channel.platform]
      .some((v) => v && String(v).toLowerCase().includes(needle));
  }

  function rebuild() {
    const needle = search.value.trim().toLowerCase();
    shown = all.filter((c) => matches(c, needle)).sort(compare(sort.key, sort.order));
    for (const [key, button] of headerButtons) {
      button.setAttribute('aria-sort', key === sort.key ? (sort.order === 'asc' ? 'ascending' : 'descending') : 'none');
    }
    setText(countText, all.length ? `${fmt.count(shown.length)} of ${fmt.count(all.length)}` : '');
    list.setItems(shown);
    dirtyOrder = false;
  }

  function sortBy(key) {
    const col = COLUMNS.find((c) => c.key === key);
    sort = sort.key === key ? { key, order: sort.order === 'asc' ? 'desc' : 'asc' } : { key, order: col.defaultOrder };
    rebuild();
  }

  search.addEventListener('input', rebuild);
  liveOnly.addEventListener('change', rebuild);

  async function loadStats(fresh = false) {
    try {
      showStats(await getJson(apiPath('stats'), { fresh }));
    } catch (error) {
      setText(updated, `Figures unavailable: ${error.message}`);
    }
  }

  // Samples that arrive while the pages of channels load are applied once the list is whole
  // (a page fetched before a sample would otherwise overwrite it with older figures).
  let pending = null;

  async function loadChannels(fresh = false) {
    let cursor = null;
    const seen = new Set();
    const loaded = [];
    pending = [];
    try {
      do {
        const page = await getJson(apiPath('channels', { sort: 'viewers', order: 'desc', limit: PAGE_SIZE, cursor }), { fresh });
        for (const channel of page.items ?? []) loaded.push(channel);
        cursor = page.next_cursor ?? null;
        if (cursor !== null && seen.has(cursor)) throw new Error('the server repeated a page cursor');
        seen.add(cursor);
      } while (cursor);
    } catch (error) {
      pending = null;
      throw error;
    }
    all = loaded;
    byId.clear();
    for (const channel of all) byId.set(channel.id, channel);
    const missed = pending;
    pending = null;
    for (const sample of missed) applySample(sample);
    listStatus.hidden = all.length > 0;
    if (!all.length) setText(listStatus, 'No channels yet. Start an agent and its channels appear here.');
    rebuild();
  }

  function applySample(sample) {
    if (pending) pending.push(sample);
    let channel = byId.get(sample.channel_id);
    if (!channel) {
      channel = { id: sample.channel_id, platform: sample.platform, name: sample.name };
      byId.set(channel.id, channel);
      all.push(channel);
      dirtyOrder = true;
      listStatus.hidden = true;
    }
    if (channel.last_sample_at && Date.parse(sample.t) < Date.parse(channel.last_sample_at)) return;
    channel.viewers = sample.viewers;
    if ('chat_per_minute' in sample) channel.chat_per_minute = sample.chat_per_minute;
    channel.bitrate_kbps = sample.bitrate_kbps;
    channel.live = sample.live;
    channel.session_id = sample.session_id;
    channel.last_sample_at = sample.t;
    if (sort.key !== 'name' && sort.key !== 'platform') dirtyOrder = true;
    list.refreshKey(channel.id);
  }

  const resortTimer = setInterval(() => { if (dirtyOrder) rebuild(); }, RESORT_MS);
  // Stats events follow commits; agents going quiet or alerts resolving commit no sample, so
  // the totals are also asked for again once their 60 s freshness has run out.
  const statsTimer = setInterval(() => loadStats(true), FRESH_MS);
  cleanups.push(() => clearInterval(statsTimer));
  const agoTimer = setInterval(() => list.refresh(), 10_000);
  cleanups.push(() => { clearInterval(resortTimer); clearInterval(agoTimer); });

  const reload = () => {
    loadStats(true);
    loadChannels(true).catch(() => {});
  };
  // A dropped stream resumes with Last-Event-ID (nothing is lost). Meanwhile the stats are
  // asked for again, which tells whether the server is gone (then the service worker's copy
  // is shown, "offline, figures from"). Figures shown from such a copy are reloaded as soon
  // as the stream connects again.
  cleanups.push(subscribe(apiPath('live'), {
    sample: applySample,
    stats: showStats,
    open: () => { if (!connectionState().online) reload(); },
    error: () => loadStats(true),
    resync: reload,
  }));

  await loadStats();
  try {
    await loadChannels();
  } catch (error) {
    listStatus.hidden = false;
    listStatus.replaceChildren(errorBox('Could not load the channels', error));
  }

  return () => cleanups.forEach((fn) => fn());
}
