// Alerts (#/alerts): what is firing now and what fired recently.
// Data: GET /api/v1/alerts?state=open and ?state=recent, refreshed every minute.

import { getJson, apiPath } from '../lib/api.js';
import { h, replace, errorBox } from '../lib/dom.js';
import { alertList } from '../widgets/alert-list.js';

const REFRESH_MS = 60_000;

export async function render(root) {
  const openBody = h('div', {}, h('p', { class: 'panel-empty', text: 'Loading…' }));
  const recentBody = h('div', {}, h('p', { class: 'panel-empty', text: 'Loading…' }));
  root.replaceChildren(
    h('div', { class: 'page-header' }, h('div', {},
      h('h1', { class: 'page-title', text: 'Alerts' }),
      h('p', { class: 'page-subtitle', text: 'Rules are configured in the collector (docs/alerts.md).' }))),
    h('section', { class: 'panel', 'aria-label': 'Firing' },
      h('div', { class: 'panel-head' }, h('h2', { class: 'panel-title', text: 'Firing now' })), openBody),
    h('section', { class: 'panel', 'aria-label': 'Recent' },
      h('div', { class: 'panel-head' }, h('h2', { class: 'panel-title', text: 'Recent' })), recentBody));

  async function load() {
    const [open, recent] = await Promise.allSettled([
      getJson(apiPath('alerts', { state: 'open' })), getJson(apiPath('alerts', { state: 'recent' }))]);
    replace(openBody, open.status === 'fulfilled'
      ? alertList(open.value.items ?? [], { emptyText: 'Nothing is firing.' })
      : errorBox('Could not load the alerts', open.reason));
    replace(recentBody, recent.status === 'fulfilled'
      ? alertList(recent.value.items ?? [], { emptyText: 'No alerts in the recent past.' })
      : errorBox('Could not load the alerts', recent.reason));
  }

  await load();
  const timer = setInterval(load, REFRESH_MS);
  return () => clearInterval(timer);
}
