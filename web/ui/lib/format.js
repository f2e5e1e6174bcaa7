// Number, time and duration formatting for the dashboard. All functions accept null/undefined
// ("unknown" in the API) and return an em dash for them.

const DASH = '—';
const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

export function known(value) {
  return value !== null && value !== undefined && !(typeof value === 'number' && Number.isNaN(value));
}

export function count(value) {
  return known(value) ? integer.format(value) : DASH;
}

// 1234567 -> "1.2M"; small values stay exact.
export function compactCount(value) {
  if (!known(value)) return DASH;
  return Math.abs(value) < 10000 ? integer.format(value) : compact.format(value);
}

export function decimal(value) {
  return known(value) ? oneDecimal.format(value) : DASH;
}

// kbit/s -> "4.5 Mb/s" or "800 kb/s".
export function bitrate(kbps) {
  if (!known(kbps)) return DASH;
  return kbps >= 1000 ? `${oneDecimal.format(kbps / 1000)} Mb/s` : `${integer.format(kbps)} kb/s`;
}

export function percent(fraction) {
  return known(fraction) ? `${oneDecimal.format(fraction * 100)} %` : DASH;
}

// Seconds -> "2 h 05 min", "14 min 09 s", "42 s".
export function duration(seconds) {
  if (!known(seconds) || seconds < 0) return DASH;
  const s = Math.round(seconds);
  const d = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const pad = (n) => String(n).padStart(2, '0');
  if (d > 0) return `${d} d ${hh} h`;
  if (hh > 0) return `${hh} h ${pad(mm)} min`;
  if (mm > 0) return `${mm} min ${pad(ss)} s`;
  return `${ss} s`;
}

function toDate(value) {
  if (!known(value)) return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

// "HH:MM" in the browser's time zone.
export function clock(value) {
  const date = toDate(value);
  if (!date) return DASH;
  return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
}

export function clockSeconds(value) {
  const date = toDate(value);
  if (!date) return DASH;
  return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
}

// "Mon 12 Oct, 21:04".
export function dateTime(value) {
  const date = toDate(value);
  if (!date) return DASH;
  return date.toLocaleString([], { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
}

export function shortDate(value) {
  const date = toDate(value);
  if (!date) return DASH;
  return date.toLocaleDateString([], { day: 'numeric', month: 'short' });
}

// "12 s ago", "3 min ago", "5 h ago", "2 d ago".
export function ago(value, now = Date.now()) {
  const date = toDate(value);
  if (!date) return DASH;
  const seconds = Math.max(0, Math.round((now - date.getTime()) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}
