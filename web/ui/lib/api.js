// The dashboard's only way to read the JSON API (/api/v1/, docs/api.md).
//
// Contract (issue 17, client behaviour):
// - a reply is fresh for 60 s: asking again within that time answers from memory;
// - a reply is kept 5 min: when the server cannot be reached, a kept reply is answered instead
//   (and the page is told it is offline, with the time of the figures);
// - a failed request (network error, 5xx, 429) is retried 3 times, waiting min(1 s·2^n, 30 s)
//   before retry n (n = 0, 1, 2); a 4xx is final and raised as ApiError at once;
// - a reply the service worker answered from its cache carries X-StreamTrack-Stored-At (see
//   sw.js): it counts as an offline answer "figures from" that time.

export const FRESH_MS = 60_000;
export const KEEP_MS = 5 * 60_000;
export const RETRIES = 3;
export const MAX_RETRY_DELAY_MS = 30_000;
export const STORED_AT_HEADER = 'X-StreamTrack-Stored-At';

export function retryDelay(n) {
  return Math.min(1000 * 2 ** n, MAX_RETRY_DELAY_MS);
}

export class ApiError extends Error {
  constructor(status, body, path) {
    const detail = body && body.error ? body.error : {};
    super(detail.message || `${path}: HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = detail.code || null;
    this.parameter = detail.parameter || null;
  }
}

// Online/offline state as the API sees it. Listeners get `change` events whose detail is
// { online: boolean, figuresFrom: Date|null }.
export const connection = new EventTarget();
let state = { online: true, figuresFrom: null };

export function connectionState() {
  return state;
}

function setState(online, figuresFrom) {
  const changed = online !== state.online ||
    (figuresFrom?.getTime() ?? 0) !== (state.figuresFrom?.getTime() ?? 0);
  state = { online, figuresFrom };
  if (changed) connection.dispatchEvent(new CustomEvent('change', { detail: state }));
}

export function markOnline() { setState(true, null); }

const memory = new Map();    // path -> { data, fetchedAt }
const inFlight = new Map();  // path -> Promise

function evictExpired(now) {
  for (const [path, entry] of memory) {
    if (now - entry.fetchedAt > KEEP_MS) memory.delete(path);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function retryable(error) {
  return !(error instanceof ApiError) || error.status >= 500 || error.status === 429;
}

async function fetchOnce(path, fresh) {
  // A fresh ask revalidates with the server (ETag, 304) instead of trusting the HTTP cache.
  const response = await fetch(path, { headers: { Accept: 'application/json' }, cache: fresh ? 'no-cache' : 'default' });
  let body = null;
  try {
    body = await response.json();
  } catch {
    if (response.ok) throw new ApiError(response.status, { error: { message: `${path}: reply is not JSON` } }, path);
  }
  if (!response.ok) throw new ApiError(response.status, body, path);
  const storedAt = response.headers.get(STORED_AT_HEADER);
  const storedDate = storedAt ? new Date(storedAt) : null;
  return { data: body, storedAt: storedDate && !Number.isNaN(storedDate.getTime()) ? storedDate : null };
}

async function fetchWithRetry(path, fresh) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetchOnce(path, fresh);
    } catch (error) {
      if (attempt >= RETRIES || !retryable(error)) throw error;
      await sleep(retryDelay(attempt));
    }
  }
}

// GET `path` as JSON under the rules above. `fresh: true` skips the 60 s memory (used when
// the page has reason to think the figures changed, e.g. after the live stream dropped).
export function getJson(path, { fresh = false } = {}) {
  const now = Date.now();
  evictExpired(now);
  const kept = memory.get(path);
  if (kept && !fresh && now - kept.fetchedAt < FRESH_MS) return Promise.resolve(kept.data);
  if (inFlight.has(path)) return inFlight.get(path);

  const request = fetchWithRetry(path, fresh).then(({ data, storedAt }) => {
    if (storedAt) {
      setState(false, storedAt);
      const mine = memory.get(path);
      if (mine && mine.fetchedAt > storedAt.getTime()) return mine.data;  // ours is newer
    } else {
      setState(true, null);
    }
    memory.set(path, { data, fetchedAt: storedAt ? storedAt.getTime() : Date.now() });
    return data;
  }, (error) => {
    const keptNow = memory.get(path);
    if (retryable(error) && keptNow && Date.now() - keptNow.fetchedAt <= KEEP_MS) {
      setState(false, new Date(keptNow.fetchedAt));
      return keptNow.data;
    }
    if (retryable(error)) setState(false, state.figuresFrom);
    throw error;
  }).finally(() => inFlight.delete(path));
  inFlight.set(path, request);
  return request;
}

// Builds "/api/v1/<path>?k=v" from a params object (null/undefined values left out).
export function apiPath(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '') query.set(key, String(value));
  }
  const text = query.toString();
  return `/api/v1/${path}${text ? `?${text}` : ''}`;
}

// The CSV download link for a JSON endpoint (same parameters, format=csv).
export function csvPath(path, params = {}) {
  return apiPath(path, { ...params, format: 'csv' });
}
