// Server-Sent Events from /api/v1/live (committed data only; docs/api.md). The browser's
// EventSource reconnects by itself and sends Last-Event-ID, so the server replays what was
// missed. When the server answers with an error the EventSource closes for good; we then open
// a new one after min(1 s·2^n, 30 s).

import { retryDelay, markOnline } from './api.js';

// The state of the live streams, for the top bar: 'idle' (none open), 'live' (all open) or
// 'reconnecting'. Listeners get `change` events whose detail is the state.
export const liveState = new EventTarget();
const streams = new Map();  // id -> boolean (open)
let nextStreamId = 1;
let lastState = 'idle';

function publish() {
  const values = [...streams.values()];
  const now = values.length === 0 ? 'idle' : values.every(Boolean) ? 'live' : 'reconnecting';
  if (now === lastState) return;
  lastState = now;
  liveState.dispatchEvent(new CustomEvent('change', { detail: now }));
}

export function currentLiveState() { return lastState; }

// subscribe('/api/v1/live', { sample(data), stats(data), resync(), open(), error() })
// -> close function. resync() is called when events may have been lost for good: the server
// said so (`event: resync`), or a new EventSource replaced a closed one (a new connection
// carries no Last-Event-ID). The page then reloads its figures.
export function subscribe(url, handlers) {
  let source = null;
  let closed = false;
  let failures = 0;
  let timer = null;
  let replaced = false;
  const streamId = nextStreamId++;
  streams.set(streamId, false);
  publish();

  const open = () => {
    if (closed) return;
    source = new EventSource(url);
    source.addEventListener('open', () => {
      failures = 0;
      streams.set(streamId, true);
      publish();
      handlers.open?.();  // before markOnline(): the page may ask whether it was offline
      markOnline();
      if (replaced) {
        replaced = false;
        handlers.resync?.();
      }
    });
    source.addEventListener('sample', (event) => dispatch(handlers.sample, event));
    source.addEventListener('stats', (event) => dispatch(handlers.stats, event));
    // The server no longer keeps the events we missed: the page must reload its figures.
    source.addEventListener('resync', () => handlers.resync?.());
    source.addEventListener('error', () => {
      streams.set(streamId, false);
      publish();
      handlers.error?.();
      if (source.readyState === EventSource.CLOSED) {
        source = null;
        replaced = true;
        timer = setTimeout(open, retryDelay(Math.min(failures++, 5)));
      }
    });
  };

  open();
  return () => {
    closed = true;
    streams.delete(streamId);
    publish();
    clearTimeout(timer);
    source?.close();
  };
}

function dispatch(handler, event) {
  if (!handler) return;
  let data;
  try {
    data = JSON.parse(event.data);
  } catch {
    return;  // a malformed event is dropped, the stream goes on
  }
  if (data && typeof data === 'object') handler(data, event.lastEventId);
}
