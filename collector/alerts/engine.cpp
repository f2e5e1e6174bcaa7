#include "collector/alerts/engine.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/util/duration.hpp"
#include "common/wire/topics.hpp"

namespace streamtrack::collector::alerts {

namespace {

using std::chrono::milliseconds;

constexpr std::size_t k_max_points = 20'000;

double seconds(milliseconds d) {
  return static_cast<double>(d.count()) / 1000.0;
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

template <typename T>
void trim(std::deque<T>& points, TimePoint latest, milliseconds window) {
  // Keeps one point at or before the window start, so that a rate covers the whole window.
  while (points.size() > 2 && points[1].ts <= latest - window) points.pop_front();
  while (points.size() > k_max_points) points.pop_front();
}

template <typename T>
void trim_at(std::deque<T>& points, TimePoint latest, milliseconds window) {
  while (points.size() > 2 && points[1].at <= latest - window) points.pop_front();
  while (points.size() > k_max_points) points.pop_front();
}

}  // namespace

std::string_view state_name(AlertState state) {
  switch (state) {
    case AlertState::pending:
      return "pending";
    case AlertState::firing:
      return "firing";
    case AlertState::resolved:
      return "resolved";
  }
  return "pending";
}

std::string_view event_name(Event e) {
  switch (e) {
    case Event::firing:
      return "firing";
    case Event::repeat:
      return "repeat";
    case Event::resolved:
      return "resolved";
  }
  return "firing";
}

std::string Alert::id() const {
  std::string out = wire::escape_segment(rule);
  for (const auto& k : key) out += "/" + wire::escape_segment(k);
  return out;
}

AlertEngine::AlertEngine(std::vector<Rule> rules, std::string collector_id)
    : m_rules(std::move(rules)), m_collector(std::move(collector_id)) {
  for (const auto& r : m_rules) m_history = std::max(m_history, r.window);
}

void AlertEngine::observe_sample(const Sample& s, TimePoint at) {
  std::lock_guard lock(m_mutex);
  auto [it, fresh] = m_channels.try_emplace({s.platform, s.channel});
  auto& c = it->second;
  if (fresh) {
    c.platform = s.platform;
    c.channel = s.channel;
    c.first_ts = s.ts;
  }
  c.agent = s.agent;
  c.last_received = at;
  m_agents[s.agent].last_seen = at;
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
  auto& a = m_agents[agent];
  a.state = status.state;
  a.reason = status.reason;
  a.last_seen = at;
}

void AlertEngine::observe_health(const std::string& agent, const wire::Health& health,
                                 TimePoint at) {
  std::lock_guard lock(m_mutex);
  auto& a = m_agents[agent];
  a.last_seen = at;
  a.health = health;
  for (const auto& src : health.sources) {
    auto& points = a.polls[src.name];
    if (!points.empty() && static_cast<double>(src.polls) < points.back().total) points.clear();
    points.push_back({at, static_cast<double>(src.polls), static_cast<double>(src.errors)});
    trim_at(points, at, m_history);
  }
}

void AlertEngine::observe_collector(const CollectorObservation& o, TimePoint at) {
  std::lock_guard lock(m_mutex);
  const double total = static_cast<double>(o.samples + o.rejects);
  if (!m_self.ingest.empty() && total < m_self.ingest.back().total) m_self.ingest.clear();
  m_self.ingest.push_back({at, total, static_cast<double>(o.rejects)});
  trim_at(m_self.ingest, at, m_history);
  m_self.last = o;
}

bool AlertEngine::threshold_on(const Rule& rule, double value, bool active) const {
  const double limit = active ? rule.resolve_threshold : rule.threshold;
  return direction_of(rule.kind) == Direction::below ? value < limit : value > limit;
}

std::vector<AlertEngine::Eval> AlertEngine::candidates(const Rule& rule, TimePoint now) const {
  std::vector<Eval> out;
  const auto active = [&](const std::vector<std::string>& key) {
    Alert probe;
    probe.rule = rule.name;
    probe.key = key;
    return m_alerts.count(probe.id()) != 0;
  };
  const auto threshold_eval = [&](Eval& e, std::optional<double> value) {
    e.value = value;
    e.known = value.has_value();
    if (value) e.on = threshold_on(rule, *value, active(e.key));
  };

  switch (scope_of(rule.kind)) {
    case Scope::stream:
      for (const auto& [id, c] : m_channels) {
        if (!glob_match(rule.match_platform, c.platform) ||
            !glob_match(rule.match_channel, c.channel) || !glob_match(rule.match_agent, c.agent)) {
          continue;
        }
        Eval e;
        e.key = {c.platform, c.channel};
        e.labels = {{"platform", c.platform}, {"channel", c.channel}, {"agent", c.agent}};
        const std::string where = c.platform + "/" + c.channel;
        // After a restart, windowed values need a full window of fresh data before they may
        // clear an alert that was restored.
        const bool full_window = c.last_ts - c.first_ts >= rule.window;
        // first_ts by value: clang 14 cannot capture a structured binding (C++20 P1091).
        const auto predates = [&, first_ts = c.first_ts] {  // an alert older than our data of
                                                            // the channel: restored
          Alert probe;
          probe.rule = rule.name;
          probe.key = e.key;
          const auto it = m_alerts.find(probe.id());
          return it != m_alerts.end() && it->second.active_since <= first_ts;
        };
        switch (rule.kind) {
          case RuleKind::went_live:
            e.known = true;
            e.on = c.live;
            e.summary = where + " is live";
            break;
          case RuleKind::went_offline:
            e.known = true;
            e.on = !c.live && (c.seen_live || active(e.key));
            e.summary = where + " went offline";
            break;
          case RuleKind::stale: {
            e.known = true;
            const auto silent = std::chrono::duration_cast<milliseconds>(now - c.last_received);
            e.on = silent > rule.window;
            e.value = seconds(silent);
            e.summary = where + " sent no sample for " + format_duration(silent);
            break;
          }
          case RuleKind::viewer_drop:
          case RuleKind::viewer_spike: {
            if (!c.live || c.viewers.empty()) {
              if (!c.live) threshold_eval(e, 0.0);
              break;
            }
            const double current = c.viewers.back().value;
            double ref = current;
            for (const auto& p : c.viewers) {
              if (p.ts < c.last_ts - rule.window) continue;
              ref = rule.kind == RuleKind::viewer_drop ? std::max(ref, p.value)
                                                       : std::min(ref, p.value);
            }
            double pct = 0;
            if (rule.kind == RuleKind::viewer_drop) {
              pct = ref > 0 ? (ref - current) / ref * 100.0 : 0.0;
              e.summary = where + " viewers fell " + num(pct) + "% (" + num(ref) + " to " +
                          num(current) + ") within " + format_duration(rule.window);
            } else {
              pct = (current - ref) / std::max(ref, 1.0) * 100.0;
              e.summary = where + " viewers rose " + num(pct) + "% (" + num(ref) + " to " +
                          num(current) + ") within " + format_duration(rule.window);
            }
            if (!full_window && predates() && !threshold_on(rule, pct, true)) break;
            threshold_eval(e, pct);
            break;
          }
          case RuleKind::low_bitrate:
            if (!c.live) {
              e.known = true;  // an offline stream has no bitrate to be low
              break;
            }
            if (c.bitrate) {
              threshold_eval(e, *c.bitrate);
              e.summary = where + " bitrate " + num(*c.bitrate) + " kbps";
            }
            break;
          case RuleKind::dropped_frames: {
            if (!c.live) {
              e.known = true;
              break;
            }
            if (c.frames.size() < 2) break;
            const auto& first = c.frames.front();
            const auto& last = c.frames.back();
            const double dropped = static_cast<double>(last.dropped - first.dropped);
            const double span =
                seconds(std::chrono::duration_cast<milliseconds>(last.ts - first.ts));
            double fps = 0;
            for (const auto& f : c.frames) fps += f.fps;
            fps /= static_cast<double>(c.frames.size());
            const double frames = dropped + fps * span;
            const double pct = frames > 0 ? dropped / frames * 100.0 : 0.0;
            if (!full_window && predates() && !threshold_on(rule, pct, true)) break;
            threshold_eval(e, pct);
            e.summary = where + " dropped " + num(pct) + "% of frames";
            break;
          }
          default:
            break;
        }
        out.push_back(std::move(e));
      }
      break;
    case Scope::agent:
      for (const auto& [name, a] : m_agents) {
        if (!glob_match(rule.match_agent, name)) continue;
        if (rule.kind == RuleKind::poll_errors) {
          for (const auto& [source, points] : a.polls) {
            Eval e;
            e.key = {name, source};
            e.labels = {{"agent", name}, {"source", source}};
            if (points.size() >= 2) {
              const double polls = points.back().total - points.front().total;
              const double errors = points.back().bad - points.front().bad;
              if (polls > 0) {
                threshold_eval(e, errors / polls * 100.0);
                e.summary = "agent " + name + " source " + source + ": " + num(*e.value) +
                            "% of polls failed";
              }
            }
            out.push_back(std::move(e));
          }
          continue;
        }
        Eval e;
        e.key = {name};
        e.labels = {{"agent", name}};
        if (rule.kind == RuleKind::agent_offline) {
          const auto silent = std::chrono::duration_cast<milliseconds>(now - a.last_seen);
          const bool will = a.state == "offline";
          const bool quiet = rule.window.count() > 0 && silent > rule.window;
          e.known = a.state.has_value() || a.last_seen != TimePoint{};
          e.on = will || quiet;
          e.summary = "agent " + name + " is offline (" +
                      (will ? "status offline" + (a.reason ? ": " + *a.reason : std::string())
                            : "silent for " + format_duration(silent)) +
                      ")";
        } else if (rule.kind == RuleKind::backlog && a.health) {
          const double depth = static_cast<double>(a.health->buffer_depth);
          const double age = a.health->oldest_unsent_age_s.value_or(0.0);
          e.known = true;
          e.value = depth;
          const bool by_depth = rule.threshold > 0 || rule.resolve_threshold > 0
                                    ? threshold_on(rule, depth, active(e.key))
                                    : false;
          const bool by_age = rule.max_age.count() > 0 && age > seconds(rule.max_age);
          e.on = by_depth || by_age;
          e.summary = "agent " + name + " outbox holds " + num(depth) + " samples, oldest unsent " +
                      num(age) + " s";
        }
        out.push_back(std::move(e));
      }
      break;
    case Scope::collector: {
      Eval e;
      e.key = {m_collector};
      e.labels = {{"collector", m_collector}};
      const auto& last = m_self.last;
      switch (rule.kind) {
        case RuleKind::ingest_errors:
          if (m_self.ingest.size() >= 2) {
            const double total = m_self.ingest.back().total - m_self.ingest.front().total;
            const double bad = m_self.ingest.back().bad - m_self.ingest.front().bad;
            threshold_eval(e, total > 0 ? bad / total * 100.0 : 0.0);
            e.summary = "collector " + m_collector + ": " + num(*e.value) + "% of messages refused";
          }
          break;
        case RuleKind::write_latency:
          if (last && last->write_latency_s) {
            threshold_eval(e, *last->write_latency_s);
            e.summary = "collector " + m_collector + ": batch writes take " + num(*e.value) + " s";
          }
          break;
        case RuleKind::postgres_down:
          if (last && last->postgres_up) {
            e.known = true;
            e.on = !*last->postgres_up;
            e.summary = "collector " + m_collector + ": PostgreSQL unreachable";
          }
          break;
        case RuleKind::memory:
          if (last && last->memory_percent) {
            threshold_eval(e, *last->memory_percent);
            e.summary = "collector " + m_collector + ": resident memory at " + num(*e.value) +
                        "% of its limit";
          }
          break;
        case RuleKind::missing_partition:
          if (last && last->missing_partitions) {
            threshold_eval(e, static_cast<double>(*last->missing_partitions));
            e.summary = num(*e.value) + " monthly partition(s) of livestream_metrics missing";
          }
          break;
        case RuleKind::default_partition:
          if (last && last->default_partition_rows) {
            threshold_eval(e, static_cast<double>(*last->default_partition_rows));
            e.summary = "collector " + m_collector + ": " + num(*e.value) +
                        " rows in livestream_metrics_default";
          }
          break;
        default:
          break;
      }
      out.push_back(std::move(e));
      break;
    }
  }
  return out;
}

void AlertEngine::changed(const Alert& a) {
  m_changes.push_back(a);
}

void AlertEngine::evaluate(const Rule& rule, const Eval& e, TimePoint now) {
  Alert probe;
  probe.rule = rule.name;
  probe.key = e.key;
  const auto id = probe.id();
  auto it = m_alerts.find(id);
  if (!e.known) return;
  if (e.on) {
    if (it == m_alerts.end()) {
      Alert a = std::move(probe);
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
    } else if (a.state == AlertState::pending && a.active_since == now) {
      changed(a);
    } else if (was_cleared) {
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
  return m_channels.size();
}

void AlertEngine::forget(TimePoint now) {
  if (m_forget_after.count() <= 0) return;
  for (auto it = m_channels.begin(); it != m_channels.end();) {
    if (now - it->second.last_received > m_forget_after) {
      m_forgotten.insert({it->second.platform, it->second.channel});
      it = m_channels.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [name, agent] : m_agents) {
    for (auto it = agent.polls.begin(); it != agent.polls.end();) {
      if (it->second.empty() || now - it->second.back().at > m_forget_after) {
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
    const bool same_rule = kept != by_name.end() &&
                           (a.labels.count("rule") == 0 ||
                            a.labels.at("rule") == rule_kind_name(kept->second->kind));
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
      const auto was = std::find_if(m_rules.begin(), m_rules.end(),
                                    [&](const Rule& r) { return r.name == a.rule; });
      m_retired.push_back({Event::resolved, a, now, m_collector,
                           was != m_rules.end() ? was->webhooks : std::vector<std::string>{}});
    }
    it = m_alerts.erase(it);
  }
  m_rules = std::move(rules);
  m_history = std::chrono::milliseconds{0};
  for (const auto& r : m_rules) m_history = std::max(m_history, r.window);
}

std::vector<Notification> AlertEngine::tick(TimePoint now) {
  std::lock_guard lock(m_mutex);
  m_out = std::exchange(m_retired, {});
  forget(now);
  if (!m_forgotten.empty()) {
    std::set<std::vector<std::string>> open;
    for (const auto& rule : m_rules) {
      for (const auto& key : m_forgotten) {
        Alert probe;
        probe.rule = rule.name;
        probe.key = key;
        if (!m_alerts.count(probe.id())) continue;
        Eval cleared;
        cleared.key = key;
        cleared.known = true;
        evaluate(rule, cleared, now);
        if (m_alerts.count(probe.id())) open.insert(key);
      }
    }
    m_forgotten = std::move(open);
  }
  // Agent rules first, so that inhibition sees this tick's agent_offline alerts.
  for (const auto scope : {Scope::agent, Scope::collector, Scope::stream}) {
    for (const auto& rule : m_rules) {
      if (scope_of(rule.kind) != scope) continue;
      for (const auto& e : candidates(rule, now)) evaluate(rule, e, now);
    }
  }
  std::map<std::string, bool> offline_agents;
  for (const auto& [id, a] : m_alerts) {
    if (a.state != AlertState::firing) continue;
    if (a.labels.count("rule") && a.labels.at("rule") == "agent_offline") {
      offline_agents[a.labels.at("agent")] = true;
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
  return std::move(m_out);
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
