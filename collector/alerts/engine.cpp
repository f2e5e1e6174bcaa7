#include "collector/alerts/engine.hpp"

#include <algorithm>

namespace streamtrack::collector::alerts {

namespace {

constexpr std::size_t k_max_points = 20'000;

// Keeps one point at or before the window start, so that a rate covers the whole window.
template <typename T>
void trim(std::deque<T>& points, TimePoint latest, std::chrono::milliseconds window) {
  while (points.size() > 2 && points[1].ts <= latest - window) points.pop_front();
  while (points.size() > k_max_points) points.pop_front();
}

std::chrono::milliseconds longest_window(const std::vector<Rule>& rules) {
  std::chrono::milliseconds out{0};
  for (const auto& r : rules) out = std::max(out, r.window);
  return out;
}

}  // namespace

AlertEngine::AlertEngine(std::vector<Rule> rules, std::string collector_id)
    : m_rules(std::move(rules)),
      m_collector(std::move(collector_id)),
      m_history(longest_window(m_rules)) {}

void AlertEngine::observe_sample(const Sample& s, TimePoint at) {
  std::lock_guard lock(m_mutex);
  auto [it, fresh] = m_seen.channels.try_emplace({s.platform, s.channel});
  auto& c = it->second;
  if (fresh) {
    c.platform = s.platform;
    c.channel = s.channel;
    c.first_ts = s.ts;
  }
  c.agent = s.agent;
  c.last_received = at;
  m_seen.agents[s.agent].last_seen = at;
  if (!fresh && s.ts < c.last_ts) return;  // a resent or late sample: history only moves forward
  c.last_ts = s.ts;
  c.live = s.live;
  if (s.live) c.seen_live = true;
  c.bitrate = s.live ? s.bitrate_kbps : std::nullopt;
  if (s.live && s.viewers) {
    c.viewers.push_back({s.ts, static_cast<double>(*s.viewers)});
  } else if (!s.live) {
    c.viewers.clear();
  }
  trim(c.viewers, s.ts, m_history);
  if (s.live && s.dropped_frames && s.fps) {
    if (!c.frames.empty() && *s.dropped_frames < c.frames.back().dropped) c.frames.clear();
    c.frames.push_back({s.ts, *s.dropped_frames, *s.fps});
  } else if (!s.live) {
    c.frames.clear();
  }
  trim(c.frames, s.ts, m_history);
}

void AlertEngine::observe_status(const std::string& agent, const wire::Status& status,
                                 TimePoint at) {
  std::lock_guard lock(m_mutex);
  auto& a = m_seen.agents[agent];
  a.state = status.state;
  a.reason = status.reason;
  a.last_seen = at;
}

void AlertEngine::observe_health(const std::string& agent, const wire::Health& health,
                                 TimePoint at) {
  std::lock_guard lock(m_mutex);
  auto& a = m_seen.agents[agent];
  a.last_seen = at;
  a.health = health;
  for (const auto& src : health.sources) {
    auto& points = a.polls[src.name];
    if (!points.empty() && static_cast<double>(src.polls) < points.back().total) points.clear();
    points.push_back({at, static_cast<double>(src.polls), static_cast<double>(src.errors)});
    trim(points, at, m_history);
  }
}

void AlertEngine::observe_collector(const CollectorObservation& o, TimePoint at) {
  std::lock_guard lock(m_mutex);
  const double total = static_cast<double>(o.samples + o.rejects);
  auto& self = m_seen.self;
  if (!self.ingest.empty() && total < self.ingest.back().total) self.ingest.clear();
  self.ingest.push_back({at, total, static_cast<double>(o.rejects)});
  trim(self.ingest, at, m_history);
  self.last = o;
}

void AlertEngine::changed(const Alert& a) {
  m_changes.push_back(a);
}

void AlertEngine::evaluate(const Rule& rule, const Candidate& e, TimePoint now) {
  const auto id = alert_id(rule.name, e.key);
  auto it = m_alerts.find(id);
  if (!e.known) return;
  if (e.on) {
    if (it == m_alerts.end()) {
      Alert a;
      a.rule = rule.name;
      a.key = e.key;
      a.severity = rule.severity;
      a.state = AlertState::pending;
      a.active_since = now;
      it = m_alerts.emplace(id, std::move(a)).first;
    }
    auto& a = it->second;
    a.value = e.value;
    a.threshold = rule.threshold;
    if (!e.summary.empty()) a.summary = e.summary;
    a.labels = rule.labels;
    a.labels["alertname"] = rule.name;
    a.labels["rule"] = std::string(rule_kind_name(rule.kind));
    a.labels["severity"] = rule.severity;
    for (const auto& [k, v] : e.labels) a.labels[k] = v;
    const bool was_cleared = a.cleared_since.has_value();
    a.cleared_since.reset();
    if (a.state == AlertState::pending && now - a.active_since >= rule.for_duration) {
      a.state = AlertState::firing;
      a.fired_at = now;
      changed(a);
    } else if ((a.state == AlertState::pending && a.active_since == now) || was_cleared) {
      changed(a);
    }
    return;
  }
  if (it == m_alerts.end()) return;
  auto& a = it->second;
  a.value = e.value;
  if (a.state == AlertState::pending) {
    a.state = AlertState::resolved;
    a.resolved_at = now;
    changed(a);
    m_alerts.erase(it);
    return;
  }
  if (!a.cleared_since) {
    a.cleared_since = now;
    if (rule.keep_firing_for.count() > 0) changed(a);
  }
  if (now - *a.cleared_since < rule.keep_firing_for) return;
  a.state = AlertState::resolved;
  a.resolved_at = now;
  changed(a);
  if (a.firing_sent) m_out.push_back({Event::resolved, a, now, m_collector, std::nullopt});
  m_alerts.erase(it);
}

void AlertEngine::set_forget_after(std::chrono::milliseconds after) {
  std::lock_guard lock(m_mutex);
  m_forget_after = after;
}

std::size_t AlertEngine::tracked_channels() const {
  std::lock_guard lock(m_mutex);
  return m_seen.channels.size();
}

void AlertEngine::forget(TimePoint now) {
  if (m_forget_after.count() <= 0) return;
  for (auto it = m_seen.channels.begin(); it != m_seen.channels.end();) {
    if (now - it->second.last_received > m_forget_after) {
      m_forgotten.insert({it->second.platform, it->second.channel});
      it = m_seen.channels.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [name, agent] : m_seen.agents) {
    for (auto it = agent.polls.begin(); it != agent.polls.end();) {
      if (it->second.empty() || now - it->second.back().ts > m_forget_after) {
        m_forgotten.insert({name, it->first});
        it = agent.polls.erase(it);
      } else {
        ++it;
      }
    }
  }
}

void AlertEngine::set_rules(std::vector<Rule> rules, TimePoint now) {
  std::lock_guard lock(m_mutex);
  std::map<std::string, const Rule*> by_name;
  for (const auto& r : rules) by_name[r.name] = &r;
  for (auto it = m_alerts.begin(); it != m_alerts.end();) {
    auto& a = it->second;
    const auto kept = by_name.find(a.rule);
    const auto was = std::find_if(m_rules.begin(), m_rules.end(),
                                  [&](const Rule& r) { return r.name == a.rule; });
    const bool same_rule =
        kept != by_name.end() && (was == m_rules.end() || was->kind == kept->second->kind);
    if (same_rule) {
      if (a.severity != kept->second->severity) {
        a.severity = kept->second->severity;
        a.labels["severity"] = a.severity;
        changed(a);
      }
      ++it;
      continue;
    }
    a.state = AlertState::resolved;
    a.resolved_at = now;
    changed(a);
    if (a.firing_sent) {
      m_retired.push_back({Event::resolved, a, now, m_collector,
                           was != m_rules.end() ? was->webhooks : std::vector<std::string>{}});
    }
    it = m_alerts.erase(it);
  }
  m_rules = std::move(rules);
  m_history = longest_window(m_rules);
}

std::vector<Notification> AlertEngine::tick(TimePoint now) {
  std::lock_guard lock(m_mutex);
  m_out = std::exchange(m_retired, {});
  forget(now);
  if (!m_forgotten.empty()) {
    std::set<std::vector<std::string>> open;
    for (const auto& rule : m_rules) {
      for (const auto& key : m_forgotten) {
        const auto id = alert_id(rule.name, key);
        if (!m_alerts.count(id)) continue;
        Candidate cleared;
        cleared.key = key;
        cleared.known = true;
        evaluate(rule, cleared, now);
        if (m_alerts.count(id)) open.insert(key);
      }
    }
    m_forgotten = std::move(open);
  }
  // Agent rules first, so that inhibition sees this tick's agent_offline alerts.
  for (const auto scope : {Scope::agent, Scope::collector, Scope::stream}) {
    for (const auto& rule : m_rules) {
      if (scope_of(rule.kind) != scope) continue;
      const EvalContext cx{rule, m_seen, m_alerts, m_collector, now};
      for (const auto& e : evaluator_of(rule.kind)(cx)) evaluate(rule, e, now);
    }
  }
  notify(now);
  return std::move(m_out);
}

void AlertEngine::notify(TimePoint now) {
  std::set<std::string> offline_agents;
  for (const auto& rule : m_rules) {
    if (rule.kind != RuleKind::agent_offline) continue;
    for (const auto& [id, a] : m_alerts) {
      if (a.rule == rule.name && a.state == AlertState::firing && !a.key.empty()) {
        offline_agents.insert(a.key.front());
      }
    }
  }
  for (const auto& rule : m_rules) {
    for (auto& [id, a] : m_alerts) {
      if (a.rule != rule.name || a.state != AlertState::firing) continue;
      const bool inhibited = scope_of(rule.kind) == Scope::stream && a.labels.count("agent") &&
                             offline_agents.count(a.labels.at("agent"));
      if (inhibited != a.inhibited) {
        a.inhibited = inhibited;
        changed(a);
      }
      if (inhibited) continue;
      if (!a.firing_sent) {
        a.firing_sent = true;
        a.last_notified = now;
        changed(a);
        m_out.push_back({Event::firing, a, now, m_collector, std::nullopt});
      } else if (!a.last_notified || now - *a.last_notified >= rule.repeat_interval) {
        a.last_notified = now;
        changed(a);
        m_out.push_back({Event::repeat, a, now, m_collector, std::nullopt});
      }
    }
  }
}

std::vector<AlertChange> AlertEngine::take_changes() {
  std::lock_guard lock(m_mutex);
  return std::exchange(m_changes, {});
}

void AlertEngine::restore(const std::vector<Alert>& stored) {
  std::lock_guard lock(m_mutex);
  std::map<std::string, const Alert*> by_id;
  for (const auto& s : stored) {
    const auto rule = std::find_if(m_rules.begin(), m_rules.end(),
                                   [&](const Rule& r) { return r.name == s.rule; });
    if (rule != m_rules.end()) by_id[s.id()] = &s;  // else the rule is gone from the config
  }
  for (auto& [id, a] : m_alerts) {
    if (by_id.count(id) != 0) continue;
    // Never notified by the collector whose state this is: ours to send.
    a.firing_sent = false;
    a.last_notified.reset();
    changed(a);
  }
  for (const auto& [id, s] : by_id) {
    auto it = m_alerts.find(id);
    if (it == m_alerts.end()) {
      m_alerts.emplace(id, *s);
      continue;
    }
    auto& a = it->second;
    if (s->state == AlertState::firing) {
      a.state = AlertState::firing;
      a.fired_at = s->fired_at;
    }
    a.active_since = std::min(a.active_since, s->active_since);
    a.firing_sent = s->firing_sent;
    a.last_notified = s->last_notified;
    changed(a);
  }
}

std::vector<Alert> AlertEngine::alerts() const {
  std::lock_guard lock(m_mutex);
  std::vector<Alert> out;
  for (const auto& [id, a] : m_alerts) out.push_back(a);
  return out;
}

}  // namespace streamtrack::collector::alerts
