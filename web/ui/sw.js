// StreamTrack's service worker: keeps the dashboard readable when the network is gone.
//
// - The app shell (HTML, CSS, modules, Debian's Chart.js) is fetched from the network when it
//   can be and kept in a cache, so a reload while offline still shows the page.
// - JSON API replies (GET /api/v1/..., not the live stream, not CSV, not series) go to the
//   network first; each good reply is kept with the time it was stored. When the network
//   fails, the kept reply is answered instead, with the header X-StreamTrack-Stored-At: <time>
//   so the page can say "offline, figures from HH:MM". With nothing kept, a 503 JSON error.

const VERSION = 'v1';
const SHELL_CACHE = `streamtrack-shell-${VERSION}`;
const DATA_CACHE = `streamtrack-data-${VERSION}`;
const STORED_AT_HEADER = 'X-StreamTrack-Stored-At';
const MAX_DATA_ENTRIES = 200;

const SHELL = [
  '/', '/index.html', '/style.css', '/app.js', '/manifest.json', '/icon.svg',
  '/lib/api.js', '/lib/dom.js', '/lib/format.js', '/lib/live.js',
  '/pages/overview.js', '/pages/channel.js', '/pages/session.js', '/pages/agents.js', '/pages/alerts.js',
  '/widgets/virtual-list.js', '/widgets/series-chart.js', '/widgets/series-panel.js', '/widgets/stat-tiles.js', '/widgets/alert-list.js',
  '/vendor/chart.js/chart.esm.js', '/vendor/chart.js/chunks/helpers.segment.js',
];

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    // One missing file must not keep the worker from installing.
    await Promise.allSettled(SHELL.map((path) => cache.add(new Request(path, { cache: 'reload' }))));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const keep = new Set([SHELL_CACHE, DATA_CACHE]);
    for (const name of await caches.keys()) {
      if (name.startsWith('streamtrack-') && !keep.has(name)) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

function isKeptApi(url) {
  if (!url.pathname.startsWith('/api/v1/')) return false;
  if (url.pathname === '/api/v1/live' || url.pathname.endsWith('/series')) return false;
  return url.searchParams.get('format') !== 'csv';
}

async function trimDataCache(cache) {
  const keys = await cache.keys();
  for (let i = 0; i < keys.length - MAX_DATA_ENTRIES; i++) await cache.delete(keys[i]);
}

async function apiNetworkFirst(request) {
  const cache = await caches.open(DATA_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) {
      const headers = new Headers(response.headers);
      headers.set(STORED_AT_HEADER, new Date().toISOString());
      const body = await response.clone().arrayBuffer();
      await cache.put(request, new Response(body, { status: response.status, statusText: response.statusText, headers }));
      trimDataCache(cache);
    }
    return response;
  } catch (error) {
    const kept = await cache.match(request);
    if (kept) return kept;
    return new Response(JSON.stringify({ error: { code: 'offline', message: 'The server cannot be reached and no copy of this reply is kept.' } }),
      { status: 503, headers: { 'Content-Type': 'application/json' } });
  }
}

async function shellNetworkFirst(request) {
  const cache = await caches.open(SHELL_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const kept = await cache.match(request, { ignoreSearch: true });
    if (kept) return kept;
    if (request.mode === 'navigate') {
      const shell = await cache.match('/index.html') ?? await cache.match('/');
      if (shell) return shell;
    }
    throw error;
  }
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/')) {
    if (isKeptApi(url)) event.respondWith(apiNetworkFirst(request));
    return;  // live stream, CSV and series go straight to the network
  }
  if (url.pathname.startsWith('/healthz') || url.pathname.startsWith('/readyz') || url.pathname.startsWith('/metrics')) return;
  event.respondWith(shellNetworkFirst(request));
});
