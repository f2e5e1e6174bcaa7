#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "collector/alerts/engine.hpp"
#include "collector/alerts/sinks/mqtt_sink.hpp"
#include "collector/alerts/sinks/webhook_sink.hpp"
#include "collector/alerts/state_store.hpp"
#include "common/util/time.hpp"

// Runs the alert engine next to the ingest path: ticks it on its own thread, persists alert
// state, elects one notifying collector, and hands notifications to the sinks. Nothing here
// runs on the ingest thread except the engine's cheap observe_* calls.
namespace streamtrack::collector::alerts {

struct ServiceOptions {
  std::string collector_id;
  std::chrono::milliseconds tick_interval{1000};
  std::chrono::milliseconds probe_interval{30'000};  // default partition count, memory
  // What the collector knows about itself (counters, write latency); called on the alert
  // thread each tick. May be empty.
  std::function<CollectorObservation()> observe_collector;
  // Called on the alert thread for each state an alert enters (pending, firing, resolved),
  // whether or not this collector notifies. May be empty.
  std::function<void(const std::string& rule, std::string_view state)> on_transition;
};

class AlertService {
 public:
  // `store` may be null (no persistence, always notifies: for tests). Throws nothing.
  AlertService(const AlertingConfig& config, ServiceOptions options,
               std::unique_ptr<AlertStore> store, sinks::Publish publish, wire::Topics topics,
               const Clock& clock);
  ~AlertService();
  AlertService(const AlertService&) = delete;
  AlertService& operator=(const AlertService&) = delete;

  AlertEngine& engine() { return m_engine; }

  // Starts the alert thread (one step() per tick_interval) until stop() or destruction.
  void start();
  void stop();

  // One round: leadership, collector observation, tick, persistence, delivery. For tests and
  // the alert thread; not to be called concurrently.
  void step();

  // New rules and webhooks (SIGHUP), applied at the start of the next step() on the alert
  // thread: see AlertEngine::set_rules. A webhook whose settings did not change keeps its
  // queue; the others are replaced (a removed one drops what it had not sent).
  void reconfigure(AlertingConfig config);

 private:
  void deliver(const std::vector<Notification>& notes);
  // Stops notifying and forgets unsaved changes and queued webhook deliveries.
  void demote();
  // MQTT and the webhooks the notification's rule names (all when it names none); a removed
  // rule's resolution goes where that rule's notifications went.
  std::vector<sinks::Sink*> sinks_for(const Notification& n);
  void apply(AlertingConfig config);
  void count_transitions(const std::vector<AlertChange>& changes);

  AlertEngine m_engine;
  ServiceOptions m_options;
  std::unique_ptr<AlertStore> m_store;
  const Clock& m_clock;
  sinks::MqttSink m_mqtt;
  std::vector<std::unique_ptr<sinks::WebhookSink>> m_webhooks;
  std::map<std::string, std::vector<std::string>> m_rule_webhooks;

  std::atomic<bool> m_leader{false};
  bool m_restored = false;
  bool m_store_ok = true;
  std::vector<Alert> m_unsaved;
  std::chrono::steady_clock::time_point m_next_probe{};
  std::optional<std::int64_t> m_default_rows;
  std::optional<std::int64_t> m_missing_partitions;
  std::optional<double> m_memory;

  std::map<std::string, AlertState> m_states;   // by alert id, for on_transition
  std::optional<AlertingConfig> m_next_config;  // guarded by m_mutex

  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_stop = false;
  std::thread m_thread;
};

// Resident memory of this process in % of its limit (cgroup memory.max, else MemTotal);
// nullopt when /proc or the limits cannot be read.
std::optional<double> memory_percent();

}  // namespace streamtrack::collector::alerts
