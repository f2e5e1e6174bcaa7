#include "collector/alerts/service.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "common/daemon/log.hpp"

namespace streamtrack::collector::alerts {

namespace {

using std::chrono::milliseconds;
constexpr std::size_t k_max_unsaved = 100'000;

std::optional<double> read_number(const std::string& path, const std::string& field = {}) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string line;
  while (std::getline(in, line)) {
    if (!field.empty()) {
      if (line.rfind(field, 0) != 0) continue;
      line = line.substr(field.size());
    }
    try {
      return std::stod(line);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

milliseconds alertmanager_hold(const AlertingConfig& config) {
  milliseconds hold{std::chrono::minutes{5}};
  for (const auto& r : config.rules) hold = std::max(hold, r.repeat_interval * 2);
  return hold;
}

}  // namespace

std::optional<double> memory_percent() {
  const auto rss_kb = read_number("/proc/self/status", "VmRSS:");
  if (!rss_kb) return std::nullopt;
  auto limit = read_number("/sys/fs/cgroup/memory.max");  // "max" reads as nullopt
  const auto total_kb = read_number("/proc/meminfo", "MemTotal:");
  if (total_kb && (!limit || *limit > *total_kb * 1024)) limit = *total_kb * 1024;
  if (!limit || *limit <= 0) return std::nullopt;
  return *rss_kb * 1024 / *limit * 100.0;
}

AlertService::AlertService(const AlertingConfig& config, ServiceOptions options,
                           std::unique_ptr<AlertStore> store, sinks::Publish publish,
                           wire::Topics topics, const Clock& clock)
    : m_engine(config.rules, options.collector_id),
      m_options(std::move(options)),
      m_store(std::move(store)),
      m_clock(clock),
      m_mqtt(std::move(topics), std::move(publish)) {
  const auto hold = alertmanager_hold(config);
  for (const auto& w : config.webhooks) {
    m_webhooks.push_back(std::make_unique<sinks::WebhookSink>(w, hold));
  }
  for (const auto& r : config.rules) m_rule_webhooks[r.name] = r.webhooks;
}

AlertService::~AlertService() {
  stop();
}

void AlertService::start() {
  m_thread = std::thread([this] {
    std::unique_lock lock(m_mutex);
    while (!m_stop) {
      lock.unlock();
      step();
      lock.lock();
      m_cv.wait_for(lock, m_options.tick_interval, [&] { return m_stop; });
    }
  });
}

void AlertService::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_cv.notify_all();
  if (m_thread.joinable()) {
    m_thread.join();
    // A last save, so that a restart resumes from what was notified.
    if (m_store && m_leader && !m_unsaved.empty()) {
      if (!m_store->save(m_unsaved, m_options.collector_id)) {
        log::warning("alerts: state not saved at shutdown alerts=" +
                     std::to_string(m_unsaved.size()));
      }
    }
  }
}

void AlertService::reconfigure(AlertingConfig config) {
  std::lock_guard lock(m_mutex);
  m_next_config = std::move(config);
}

void AlertService::apply(AlertingConfig config) {
  m_engine.set_rules(config.rules, m_clock.now());
  const auto hold = alertmanager_hold(config);
  std::vector<std::unique_ptr<sinks::WebhookSink>> webhooks;
  for (auto& w : config.webhooks) {
    const auto same = std::find_if(m_webhooks.begin(), m_webhooks.end(),
                                   [&](const auto& old) { return old && old->config() == w; });
    if (same != m_webhooks.end()) {
      webhooks.push_back(std::move(*same));
    } else {
      webhooks.push_back(std::make_unique<sinks::WebhookSink>(w, hold));
    }
  }
  m_webhooks = std::move(webhooks);
  m_rule_webhooks.clear();
  for (const auto& r : config.rules) m_rule_webhooks[r.name] = r.webhooks;
  log::notice("alerts: reconfigured rules=" + std::to_string(config.rules.size()) +
              " webhooks=" + std::to_string(config.webhooks.size()));
}

void AlertService::count_transitions(const std::vector<AlertChange>& changes) {
  for (const auto& c : changes) {
    const auto id = c.id();
    const auto it = m_states.find(id);
    const bool entered = it == m_states.end() ? c.state != AlertState::resolved || c.fired_at
                                              : it->second != c.state;
    if (entered && m_options.on_transition) m_options.on_transition(c.rule, state_name(c.state));
    if (c.state == AlertState::resolved) {
      m_states.erase(id);
    } else {
      m_states[id] = c.state;
    }
  }
}

std::vector<sinks::Sink*> AlertService::sinks_for(const Notification& n) {
  std::vector<sinks::Sink*> out{&m_mqtt};
  const auto& wanted = n.retired_webhooks ? *n.retired_webhooks : m_rule_webhooks[n.alert.rule];
  for (auto& w : m_webhooks) {
    if (wanted.empty() || std::find(wanted.begin(), wanted.end(), w->name()) != wanted.end()) {
      out.push_back(w.get());
    }
  }
  return out;
}

void AlertService::deliver(const std::vector<Notification>& notes) {
  for (const auto& n : notes) {
    const auto level = n.event == Event::repeat ? log::Level::info : log::Level::notice;
    log::write(level, "alerts: " + std::string(event_name(n.event)) +
                          " alert=" + log::quote(n.alert.id()) + " severity=" + n.alert.severity +
                          " summary=" + log::quote(n.alert.summary));
    for (auto* sink : sinks_for(n)) sink->deliver(n);
  }
}

void AlertService::demote() {
  m_leader = false;
  // What this collector decided or queued as leader is stale once another one leads: saving or
  // sending it later would overwrite or repeat the new leader's work.
  if (!m_unsaved.empty()) {
    log::notice("alerts: dropping unsaved alert changes of a former leader count=" +
                std::to_string(m_unsaved.size()));
  }
  m_unsaved.clear();
  for (auto& w : m_webhooks) w->drop_queued();
}

void AlertService::step() {
  std::optional<AlertingConfig> next;
  {
    std::lock_guard lock(m_mutex);
    next = std::exchange(m_next_config, std::nullopt);
  }
  if (next) apply(std::move(*next));
  const auto now = m_clock.now();
  if (m_store) {
    const auto lead = m_store->try_lead();
    if (!lead) {
      // Leadership is a lock in the store: without it another collector may have taken over,
      // so a leader that cannot reach its store stops notifying until it leads again.
      if (m_store_ok) {
        log::warning("alerts: state store unreachable, not notifying error=" +
                     log::quote(lead.error()));
      }
      m_store_ok = false;
      if (m_leader) demote();
    } else {
      if (!m_store_ok) log::info("alerts: state store reachable again");
      m_store_ok = true;
      if (*lead && !m_leader) {
        const auto stored = m_store->load();
        if (stored) {
          m_engine.take_changes();  // what we decided as a follower is superseded
          m_engine.restore(*stored);
          m_leader = true;
          log::notice("alerts: this collector notifies restored=" + std::to_string(stored->size()));
        } else {
          log::warning("alerts: cannot load alert state error=" + log::quote(stored.error()));
        }
      } else if (!*lead && m_leader) {
        demote();
        log::notice("alerts: another collector notifies now");
      } else if (!*lead && !m_restored) {
        log::info("alerts: another collector notifies; evaluating only");
      }
      m_restored = true;
    }
  } else {
    m_leader = true;
  }

  CollectorObservation o;
  if (m_options.observe_collector) o = m_options.observe_collector();
  const auto steady = m_clock.steady_now();
  if (steady >= m_next_probe) {
    m_next_probe = steady + m_options.probe_interval;
    m_memory = memory_percent();
    if (m_store && m_store_ok) {
      const auto rows = m_store->default_partition_rows();
      if (rows) {
        m_default_rows = *rows;
      } else {
        m_store_ok = false;
      }
      if (const auto missing = m_store->missing_partitions(now)) {
        m_missing_partitions = *missing;
      }
    }
  }
  if (m_store) o.postgres_up = m_store_ok;
  o.memory_percent = m_memory;
  o.default_partition_rows = m_default_rows;
  o.missing_partitions = m_missing_partitions;
  m_engine.observe_collector(o, now);

  const auto notes = m_engine.tick(now);
  auto changes = m_engine.take_changes();
  count_transitions(changes);
  if (!m_leader) {
    for (const auto& n : notes) {
      log::debug("alerts: " + std::string(event_name(n.event)) +
                 " alert=" + log::quote(n.alert.id()) + " (not notifying)");
    }
    return;
  }
  if (m_store) {
    m_unsaved.insert(m_unsaved.end(), std::make_move_iterator(changes.begin()),
                     std::make_move_iterator(changes.end()));
    if (m_unsaved.size() > k_max_unsaved) {
      log::error("alerts: too many unsaved alert changes, dropping the oldest count=" +
                 std::to_string(m_unsaved.size() - k_max_unsaved));
      m_unsaved.erase(m_unsaved.begin(), m_unsaved.begin() + static_cast<std::ptrdiff_t>(
                                                                 m_unsaved.size() - k_max_unsaved));
    }
    if (!m_unsaved.empty() && m_store_ok) {
      const auto saved = m_store->save(m_unsaved, m_options.collector_id);
      if (saved) {
        m_unsaved.clear();
      } else {
        log::warning("alerts: alert state not saved, will retry error=" +
                     log::quote(saved.error()));
      }
    }
  }
  deliver(notes);
  m_mqtt.flush();
}

}  // namespace streamtrack::collector::alerts
