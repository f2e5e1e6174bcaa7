// The app shell: hash routing (#/, #/channel/<id>, #/session/<id>, #/agents, #/alerts), the
// connection indicator, the offline banner and the service worker registration.

import { connection, connectionState } from './lib/api.js';
import { liveState, currentLiveState } from './lib/live.js';
import { h, errorBox } from './lib/dom.js';
import * as fmt from './lib/format.js';

const ROUTES = [
  { name: 'overview', pattern: /^\/?$/, title: 'Overview', load: () => import('./pages/overview.js') },
  { name: 'overview', pattern: /^\/channel\/(\d+)$/, title: 'Channel', load: () => import('./pages/channel.js'), param: 'id' },
  { name: 'overview', pattern: /^\/session\/(\d+)$/, title: 'Broadcast', load: () => import('./pages/session.js'), param: 'id' },
  { name: 'agents', pattern: /^\/agents$/, title: 'Agents', load: () => import('./pages/agents.js') },
  { name: 'alerts', pattern: /^\/alerts$/, title: 'Alerts', load: () => import('./pages/alerts.js') },
];

const view = document.getElementById('view');
const banner = document.getElementById('offline-banner');
const indicator = document.getElementById('connection');
const indicatorText = indicator.querySelector('.connection-text');

let cleanup = () => {};
let navigation = 0;

function parseHash() {
  let raw = location.hash.replace(/^#/, '');
  try {
    raw = decodeURIComponent(raw);
  } catch {
    // A malformed escape (e.g. "%E0%A4%A") is routed as typed: it matches no page.
  }
  raw = raw || '/';
  const [path, query = ''] = raw.split('?');
  return { path, query: new URLSearchParams(query) };
}

async function route() {
  const token = ++navigation;
  const previous = cleanup;
  cleanup = () => {};
  try { previous(); } catch (error) { console.error(error); }

  const { path, query } = parseHash();
  const match = ROUTES.map((r) => ({ r, m: r.pattern.exec(path) })).find((x) => x.m);
  for (const link of document.querySelectorAll('.nav-link')) {
    link.classList.toggle('active', Boolean(match) && link.dataset.route === match.r.name && !match.r.param);
  }
  if (!match) {
    document.title = 'Not found · StreamTrack';
    view.replaceChildren(errorBox('Page not found', new Error(`Nothing lives at #${path}.`)),
      h('p', {}, h('a', { href: '#/', text: '← Back to the overview' })));
    return;
  }
  document.title = `${match.r.title} · StreamTrack`;
  const params = { query };
  if (match.r.param) params[match.r.param] = Number(match.m[1]);
  view.dataset.page = match.r.title.toLowerCase();
  try {
    const page = await match.r.load();
    if (token !== navigation) return;
    const done = await page.render(view, params);
    if (token !== navigation) { done?.(); return; }
    cleanup = done ?? (() => {});
    view.dataset.ready = 'true';
  } catch (error) {
    if (token !== navigation) return;
    console.error(error);
    view.replaceChildren(errorBox('This page failed to load', error));
  }
}

function showConnection() {
  const { online, figuresFrom } = connectionState();
  if (!online && figuresFrom) {
    banner.textContent = `Offline, figures from ${fmt.clock(figuresFrom)}`;
    banner.hidden = false;
  } else if (!online) {
    banner.textContent = 'Offline, no figures kept for this page';
    banner.hidden = false;
  } else {
    banner.hidden = true;
    banner.textContent = '';
  }
  const live = currentLiveState();
  const state = !online ? 'offline' : live === 'idle' ? 'online' : live;
  indicator.dataset.state = state;
  indicatorText.textContent = state === 'live' ? 'live' : state;
}

connection.addEventListener('change', showConnection);
liveState.addEventListener('change', showConnection);
window.addEventListener('hashchange', () => { view.dataset.ready = 'false'; route(); });
showConnection();
route();

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((error) => {
    console.warn('service worker not registered:', error);
  });
}
