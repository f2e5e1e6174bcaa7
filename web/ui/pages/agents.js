// Agents (#/agents): who is online, buffer depth, oldest unsent sample, and what is firing.
// Data: GET /api/v1/agents and GET /api/v1/alerts?state=open, refreshed every minute (the
// API client keeps replies fresh for 60 s, so asking more often would not show more).

import { getJson, apiPath } from '../lib/api.js';
import { h, replace, errorBox } from '../lib/dom.js';
import * as fmt from '../lib/format.js';
import { StatTiles } from '../widgets/stat-tiles.js';
import { alertList } from '../widgets/alert-list.js';

const REFRESH_MS = 60_000;
// An unsent sample older than this means the agent cannot deliver: shown as a warning.
const STALE_UNSENT_SECONDS = 60;

// The API's health verdict ("ok", "degraded", "stale", "offline", "unknown") and its tone.
function healthText(health) {
  if (health === null || health === undefined) return '—';
  if (typeof health === 'string') return health;
  if (typeof health === 'object' && typeof health.status === 'string') return health.status;
  return '—';
}

function healthClass(text) {
  if (text === 'ok') return 'ok-text';
  if (text === 'degraded' || text === 'stale') return 'warn-text';
  return 'muted';
}

function agentTable(items) {
  if (!items.length) return h('p', { class: 'panel-empty', text: 'No agent has reported yet.' });
  const sorted = [...items].sort((a, b) => (Number(b.online) - Number(a.online)) || String(a.agent_id).localeCompare(String(b.agent_id)));
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'agent-table' },
    h('thead', {}, h('tr', {},
      h('th', { text: 'Agent' }), h('th', { text: 'State' }),
      h('th', { class: 'right', text: 'Buffer' }), h('th', { class: 'right', text: 'Oldest unsent' }),
      h('th', { class: 'right hide-phone', text: 'Sources' }), h('th', { class: 'hide-phone', text: 'Version' }),
      h('th', { class: 'right', text: 'Last seen' }))),
    h('tbody', {}, sorted.map((a) => {
      const unsent = a.oldest_unsent_seconds;
      return h('tr', { dataset: { agentId: String(a.agent_id) } },
        h('td', {}, h('span', { class: 'cell-name' }, h('span', { class: `live-dot agent${a.online ? ' on' : ''}` }),
          h('span', { class: 'name', text: a.agent_id }))),
        h('td', {}, h('span', { class: `badge${a.online ? ' ok' : ''}`, text: a.online ? (a.state || 'online') : (a.state || 'offline') }),
          a.online ? h('div', { class: healthClass(healthText(a.health)), text: healthText(a.health) }) : null,
          a.status_reason ? h('div', { class: 'muted', text: a.status_reason }) : null),
        h('td', { class: 'right', text: fmt.count(a.buffer_depth) }),
        h('td', { class: `right${fmt.known(unsent) && unsent > STALE_UNSENT_SECONDS ? ' warn-text' : ''}`,
          text: fmt.known(unsent) && unsent > 0 ? fmt.duration(unsent) : 'none' }),
        h('td', { class: 'right hide-phone', text: fmt.count(a.sources) }),
        h('td', { class: 'hide-phone muted', text: a.version ?? '—' }),
        h('td', { class: 'right', text: fmt.ago(a.last_seen) }));
    }))));
}

export async function render(root) {
  const tilesBox = h('section', { 'aria-label': 'Agents summary' });
  const agentsBody = h('div', {}, h('p', { class: 'panel-empty', text: 'Loading agents…' }));
  const alertsBody = h('div', {}, h('p', { class: 'panel-empty', text: 'Loading alerts…' }));
  root.replaceChildren(
    h('div', { class: 'page-header' }, h('div', {},
      h('h1', { class: 'page-title', text: 'Agents' }),
      h('p', { class: 'page-subtitle', text: 'Who is collecting, and whether their samples get through.' }))),
    tilesBox,
    h('section', { class: 'panel', 'aria-label': 'Agents' },
      h('div', { class: 'panel-head' }, h('h2', { class: 'panel-title', text: 'Agents' })), agentsBody),
    h('section', { class: 'panel', 'aria-label': 'Firing alerts' },
      h('div', { class: 'panel-head' }, h('h2', { class: 'panel-title', text: 'Firing alerts' }),
        h('a', { class: 'button', href: '#/alerts', text: 'All alerts' })), alertsBody));
  const tiles = new StatTiles(tilesBox, [
    { key: 'online', label: 'Online', format: fmt.count, tone: (v) => (v > 0 ? 'good' : null) },
    { key: 'offline', label: 'Offline', format: fmt.count, tone: (v) => (v > 0 ? 'alerting' : null) },
    { key: 'buffered', label: 'Samples buffered', format: fmt.compactCount },
    { key: 'firing', label: 'Firing alerts', format: fmt.count, tone: (v) => (v > 0 ? 'alerting' : 'good') },
  ], { columns: 4 });

  async function load() {
    const [agents, alerts] = await Promise.allSettled([
      getJson(apiPath('agents')), getJson(apiPath('alerts', { state: 'open' }))]);
    const summary = {};
    if (agents.status === 'fulfilled') {
      const items = agents.value.items ?? [];
      summary.online = items.filter((a) => a.online).length;
      summary.offline = items.length - summary.online;
      summary.buffered = items.reduce((sum, a) => sum + (Number(a.buffer_depth) || 0), 0);
      replace(agentsBody, agentTable(items));
    } else replace(agentsBody, errorBox('Could not load the agents', agents.reason));
    if (alerts.status === 'fulfilled') {
      const items = alerts.value.items ?? [];
      summary.firing = items.length;
      replace(alertsBody, alertList(items, { emptyText: 'Nothing is firing.' }));
    } else replace(alertsBody, errorBox('Could not load the alerts', alerts.reason));
    tiles.update(summary);
  }

  await load();
  const timer = setInterval(load, REFRESH_MS);
  return () => clearInterval(timer);
}
