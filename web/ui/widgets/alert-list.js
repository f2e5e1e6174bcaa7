// A list of alert episodes (GET /api/v1/alerts items). Every name in it (rule, channel,
// agent, summary) comes from configuration or agents and is set as text.

import { h } from '../lib/dom.js';
import * as fmt from '../lib/format.js';

function severityClass(severity) {
  const value = String(severity ?? '').toLowerCase();
  if (value === 'critical' || value === 'error' || value === 'page') return 'critical';
  if (value === 'warning' || value === 'warn') return 'warning';
  return '';
}

export function alertList(items, { emptyText = 'No alerts.' } = {}) {
  if (!items.length) return h('p', { class: 'panel-empty', text: emptyText });
  return h('ul', { class: 'alert-list' }, items.map((alert) => {
    const where = [];
    if (alert.channel) {
      where.push(alert.channel_id != null
        ? h('a', { href: `#/channel/${encodeURIComponent(alert.channel_id)}`, text: alert.channel })
        : alert.channel);
      if (alert.platform) where.push(` on ${alert.platform}`);
    }
    if (alert.agent_id) where.push(where.length ? ` · agent ${alert.agent_id}` : `agent ${alert.agent_id}`);
    const resolved = alert.resolved_at != null;
    return h('li', { class: 'alert-item', dataset: { alertId: String(alert.id) } },
      h('span', { class: `badge ${resolved ? 'ok' : alert.state === 'pending' ? '' : severityClass(alert.severity)}`,
        text: resolved ? 'resolved' : alert.state === 'pending' ? 'pending' : (alert.severity || 'firing') }),
      h('div', {},
        h('div', { class: 'alert-rule', text: alert.rule ?? 'alert' }),
        where.length ? h('div', { class: 'alert-summary' }, where) : null,
        alert.summary ? h('div', { class: 'alert-summary', text: alert.summary }) : null),
      h('div', { class: 'alert-when' },
        h('time', { datetime: alert.started_at ?? '', title: fmt.dateTime(alert.started_at),
          text: resolved ? `${fmt.dateTime(alert.started_at)} – ${fmt.clock(alert.resolved_at)}` : `since ${fmt.ago(alert.started_at)}` })));
  }));
}
