#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "collector/alerts/wiring.hpp"
#include "collector/analytics/hourly.hpp"
#include "collector/app.hpp"
#include "collector/batch/batch_writer.hpp"
#include "collector/daemon/fake_clock.hpp"
#include "collector/homeassistant/discovery.hpp"
#include "collector/ingest/ingest.hpp"
#include "collector/live/live_publisher.hpp"
#include "collector/partitions/partition_manager.hpp"
#include "collector/retention/retention.hpp"
#include "collector/sessions/session_store.hpp"
#include "collector/store/migrations.hpp"
#include "collector/store/pg_store.hpp"
#include "common/daemon/log.hpp"
#include "common/daemon/notify.hpp"
#include "common/daemon/periodic.hpp"
#include "common/daemon/signals.hpp"
#include "common/mqtt/client.hpp"
#include "common/status/status_server.hpp"
#include "common/util/backoff.hpp"
#include "common/version.hpp"
#include "common/wire/codec.hpp"
#include "common/wire/topics.hpp"

namespace streamtrack::collector {

namespace {

using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The [batch] options of the writers (retry bounds stay at their defaults).
batch::WriterOptions writer_options(const CollectorConfig& c) {
  batch::WriterOptions o;
  o.max_rows = static_cast<std::size_t>(c.batch_max_rows);
  o.max_delay = c.batch_max_delay;
  return o;
}

using Steps = partitions::MaintenanceOptions::Steps;

partitions::MaintenanceOptions partition_options(const CollectorConfig& c,
                                                 Steps steps = Steps::all) {
  partitions::MaintenanceOptions o{c.premake_months, c.retention_months, c.rescue_chunk_rows,
                                   c.archive_dir};
  o.steps = steps;
  return o;
}

// The maintenance connection: the [postgres] settings with the short lock_timeout of
// [partitions], so that DDL never queues writers behind it for longer.
store::ConnectOptions maintenance_options(const CollectorConfig& c) {
  auto o = postgres_options(c, "maintenance");
  o.lock_timeout = c.partition_lock_timeout;
  return o;
}

void log_partitions(const partitions::MaintenanceReport& r) {
  for (const auto& name : r.created) log::info("partitions: created partition=" + name);
  for (const auto& [file, rows] : r.archived) {
    log::notice("partitions: archived file=" + log::quote(file) + " rows=" + std::to_string(rows));
  }
  for (const auto& name : r.dropped) log::notice("partitions: dropped partition=" + name);
  if (r.rescued_rows > 0) {
    log::warning("partitions: moved rows out of the default partition rows=" +
                 std::to_string(r.rescued_rows));
  }
  if (r.expired_rows > 0) {
    log::notice("partitions: deleted rows of dropped months from the default partition rows=" +
                std::to_string(r.expired_rows));
  }
  for (const auto& [name, error] : r.failed) {
    log::error("partitions: cannot create or drop partition=" + name +
               " error=" + log::quote(error) + " (retried next round)");
  }
  if (r.default_rows > 0) {
    log::warning("partitions: default partition holds rows=" + std::to_string(r.default_rows) +
                 " (samples outside every month a partition can be made for)");
  }
}

// What the /readyz "database" check and collector_postgres_up report, written by the
// maintenance worker (reachability, schema) and the writers (their last outcome). The gauge is
// set under the same lock as the state changes, so /readyz and /metrics never disagree.
class DatabaseHealth {
 public:
  explicit DatabaseHealth(status::CollectorMetrics& metrics) : m_metrics(metrics) {
    m_metrics.set_database_up(false);
  }
  void set_reachable(bool up, const std::string& error = {}) {
    std::lock_guard lock(m_mutex);
    m_reachable = up;
    if (!up) m_maintenance_error = error;
    publish();
  }
  void set_schema_ready() {
    std::lock_guard lock(m_mutex);
    m_schema_ready = true;
    publish();
  }
  bool schema_ready() const { return m_schema_ready; }
  // A writer's batch failed (retried) with `error`, or (empty) committed.
  void writer_outcome(std::size_t writer, const std::string& error) {
    std::lock_guard lock(m_mutex);
    if (m_writer_errors.size() <= writer) m_writer_errors.resize(writer + 1);
    m_writer_errors[writer] = error;
    publish();
  }
  bool up() const { return check().ok; }
  status::CheckResult check() const {
    std::lock_guard lock(m_mutex);
    return check_locked();
  }

 private:
  void publish() { m_metrics.set_database_up(check_locked().ok); }
  status::CheckResult check_locked() const {
    if (!m_reachable) return {false, "unreachable: " + m_maintenance_error};
    if (!m_schema_ready) return {false, "schema not applied yet"};
    for (const auto& e : m_writer_errors) {
      if (!e.empty()) return {false, "writes failing: " + e};
    }
    return {true, "reachable"};
  }

  status::CollectorMetrics& m_metrics;
  mutable std::mutex m_mutex;
  bool m_reachable = false;
  std::atomic<bool> m_schema_ready{false};
  std::string m_maintenance_error = "not connected yet";
  std::vector<std::string> m_writer_errors;
};

// Schema, partitions, sessions and analytics on their own connection and thread, so that no
// DDL or slow statement ever delays the main loop (which pings the watchdog) or the writers.
// Until the schema is applied it retries with backoff; afterwards each task runs on its timer
// and a failure is logged and retried on the next round.
class MaintenanceWorker {
 public:
  MaintenanceWorker(const CollectorConfig& config, const Clock& clock, DatabaseHealth& health)
      : m_config(config), m_clock(clock), m_health(health), m_thread([this] { run(); }) {}
  ~MaintenanceWorker() { stop(); }
  MaintenanceWorker(const MaintenanceWorker&) = delete;
  MaintenanceWorker& operator=(const MaintenanceWorker&) = delete;

  // Stops the worker after a last analytics refresh; returns once its thread ended.
  void stop() {
    m_wakeup.stop();
    if (m_thread.joinable()) m_thread.join();
  }

 private:
  void run() {
    Backoff backoff(milliseconds{500}, milliseconds{10'000});
    while (!m_wakeup.stopped() && !prepare()) {
      if (m_wakeup.wait_for(backoff.next_delay())) return;
    }
    Periodic probe(milliseconds{5000});
    Periodic analytics(m_config.analytics_refresh_interval);
    Periodic partitions(m_config.maintenance_interval);
    Periodic sessions(std::min<milliseconds>(m_config.session_timeout / 4, milliseconds{30'000}));
    while (true) {
      const auto next =
          std::min({probe.next(), analytics.next(), partitions.next(), sessions.next()});
      if (m_wakeup.wait_until(next)) break;
      const auto now = Steady::now();
      if (probe.due(now)) task("database", [](store::PgConnection& c) { c.exec("SELECT 1"); });
      if (analytics.due(now)) task("analytics", refresh_analytics);
      const bool maintenance_due = partitions.due(now);
      if (maintenance_due)
        task("partitions", [this](store::PgConnection& c) {
          log_partitions(partitions::maintain_partitions(
              c, m_clock.now(), partition_options(m_config, Steps::create)));
        });
      if (maintenance_due) {
        task("retention", [this](store::PgConnection& c) {
          const auto r = retention::prune_history(
              c, m_clock.now(),
              {m_config.rejects_retention, m_config.alert_history_retention, 10'000});
          if (r.rejects_deleted > 0 || r.alerts_deleted > 0) {
            log::notice("retention: deleted ingest_rejects=" + std::to_string(r.rejects_deleted) +
                        " alerts=" + std::to_string(r.alerts_deleted));
          }
        });
      }
      if (sessions.due(now))
        task("sessions", [this](store::PgConnection& c) {
          const auto n =
              sessions::close_silent_sessions(c, m_clock.now(), m_config.session_timeout);
          if (n > 0) log::info("sessions: closed silent sessions=" + std::to_string(n));
        });
    }
    if (m_health.schema_ready()) task("analytics", refresh_analytics);
  }

  static void refresh_analytics(store::PgConnection& c) {
    const auto n = analytics::refresh_hourly(c);
    if (n > 0) log::debug("analytics: refreshed hours=" + std::to_string(n));
  }

  // Migrations, then ingest may start (rows of a month without its partition wait in the
  // default partition), then one round creating partitions (whose failures are only logged: a
  // month that cannot be made is no reason not to start). Expired months are RetentionWorker's.
  // False when the database is unreachable.
  bool prepare() {
    return task("schema", [this](store::PgConnection& c) {
      const auto applied = store::apply_migrations(c);
      for (const int v : applied) log::notice("schema: applied migration=" + std::to_string(v));
      m_health.set_schema_ready();
      log::info("schema: ready");
      try {
        log_partitions(partitions::maintain_partitions(c, m_clock.now(),
                                                       partition_options(m_config, Steps::create)));
      } catch (const store::PgError& e) {
        if (!c.healthy()) throw;
        log::error("partitions: maintenance failed error=" + log::quote(e.describe()));
      }
    });
  }

  bool task(const char* what, const std::function<void(store::PgConnection&)>& body) {
    try {
      if (!m_conn || !m_conn->healthy()) {
        m_conn.reset();
        m_conn = std::make_unique<store::PgConnection>(maintenance_options(m_config));
      }
      body(*m_conn);
      m_health.set_reachable(true);
      return true;
    } catch (const store::PgError& e) {
      log::warning(std::string(what) + ": database error error=" + log::quote(e.describe()));
      if (!m_conn || !m_conn->healthy()) {
        m_conn.reset();
        m_health.set_reachable(false, e.describe());
      }
      return false;
    }
  }

  const CollectorConfig& m_config;
  const Clock& m_clock;
  DatabaseHealth& m_health;
  std::unique_ptr<store::PgConnection> m_conn;
  Wakeup m_wakeup;
  std::thread m_thread;  // last: starts once everything it uses exists
};

// Retention (archiving and dropping expired months) on its own connection and thread: copying
// a month may take long, and must hold back neither ingest nor the other maintenance tasks.
// stop() cancels the statement running and returns within about a second.
class RetentionWorker {
 public:
  RetentionWorker(const CollectorConfig& config, const Clock& clock, DatabaseHealth& health)
      : m_config(config), m_clock(clock), m_health(health), m_thread([this] { run(); }) {}
  ~RetentionWorker() { stop(); }
  RetentionWorker(const RetentionWorker&) = delete;
  RetentionWorker& operator=(const RetentionWorker&) = delete;

  void stop() {
    m_wakeup.stop();
    if (!m_thread.joinable()) return;
    // A cancel can arrive just before the worker sends its next statement: ask again until
    // it noticed (it checks stop_requested before each month and chunk).
    std::unique_lock lock(m_mutex);
    while (!m_done) {
      if (m_conn) m_conn->cancel();
      m_done_cv.wait_for(lock, milliseconds{200});
    }
    lock.unlock();
    m_thread.join();
  }

 private:
  void run() {
    // The first round once the schema is applied, then one every maintenance_interval.
    auto next = Steady::now();
    while (!m_wakeup.wait_until(next)) {
      if (!m_health.schema_ready()) {
        next = Steady::now() + milliseconds{1000};
        continue;
      }
      next = Steady::now() + m_config.maintenance_interval;
      try {
        if (!m_conn || !m_conn->healthy()) {
          auto conn = std::make_unique<store::PgConnection>(maintenance_options(m_config));
          std::lock_guard lock(m_mutex);
          m_conn = std::move(conn);
        }
        auto options = partition_options(m_config, Steps::expire);
        options.stop_requested = [this] { return m_wakeup.stopped(); };
        log_partitions(partitions::maintain_partitions(*m_conn, m_clock.now(), options));
      } catch (const store::PgError& e) {
        log::warning("retention: database error error=" + log::quote(e.describe()));
        if (m_conn && !m_conn->healthy()) {
          std::lock_guard lock(m_mutex);
          m_conn.reset();
        }
      }
    }
    std::lock_guard lock(m_mutex);
    m_done = true;
    m_done_cv.notify_all();
  }

  const CollectorConfig& m_config;
  const Clock& m_clock;
  DatabaseHealth& m_health;
  std::mutex m_mutex;  // m_conn's pointer (stop() cancels through it) and m_done
  std::condition_variable m_done_cv;
  bool m_done = false;
  std::unique_ptr<store::PgConnection> m_conn;
  Wakeup m_wakeup;
  std::thread m_thread;  // last: starts once everything it uses exists
};

// What one pool connection is doing, for collector_postgres_connections.
enum class PoolState : int { idle, busy, broken };

// The one decorator around each writer's PgStore: holds writes back until the schema is
// applied, and reports each attempt to the metrics (rows, latency and outcome per batch,
// dead-lettered rows by origin, its pool connection's state), to the write_latency alert rule
// (committed writes) and to the /readyz "database" check (its last outcome).
class InstrumentedStore final : public store::Store {
 public:
  InstrumentedStore(store::Store& inner, status::CollectorMetrics& metrics,
                    alerts::WriteTimer& timer, std::atomic<int>& state, DatabaseHealth& health,
                    std::size_t writer)
      : m_inner(inner),
        m_metrics(metrics),
        m_timer(timer),
        m_state(state),
        m_health(health),
        m_writer(writer) {}

  store::WriteOutcome write(const std::vector<ingest::Item>& batch) override {
    // Before the schema is applied, a write could only fail (or, worse, find half a schema).
    if (!m_health.schema_ready()) return {Outcome::retry, "schema not applied yet"};
    m_state = static_cast<int>(PoolState::busy);
    const auto start = Steady::now();
    auto outcome = m_inner.write(batch);
    const status::Seconds took = Steady::now() - start;
    const auto rows = static_cast<std::int64_t>(batch.size());
    switch (outcome.status) {
      case Outcome::ok:
        m_metrics.batch_written(rows, took, Outcome::ok);
        m_timer.record(Steady::now() - start);
        count_rejects(batch);
        break;
      case Outcome::retry:
        m_metrics.batch_written(rows, took, Outcome::retry);
        break;
      case Outcome::error:
        m_metrics.batch_written(rows, took, Outcome::error);
        break;
    }
    m_state =
        static_cast<int>(outcome.status == Outcome::retry ? PoolState::broken : PoolState::idle);
    m_health.writer_outcome(m_writer, outcome.status == Outcome::retry ? outcome.error : "");
    return outcome;
  }

 private:
  // Committed dead letters: refused at decode by ingest, or refused by the database.
  void count_rejects(const std::vector<ingest::Item>& batch) {
    std::int64_t decode = 0;
    std::int64_t database = 0;
    for (const auto& item : batch) {
      if (item.kind != ingest::Item::Kind::reject) continue;
      ++(item.origin == ingest::Item::Origin::database ? database : decode);
    }
    if (decode > 0) m_metrics.count_ingest_rejects("decode", decode);
    if (database > 0) m_metrics.count_ingest_rejects("database", database);
  }

  store::Store& m_inner;
  status::CollectorMetrics& m_metrics;
  alerts::WriteTimer& m_timer;
  std::atomic<int>& m_state;
  DatabaseHealth& m_health;
  std::size_t m_writer;
};

// The collector: MQTT messages are classified on Paho's thread and queued; a pool of writer
// threads moves batches into PostgreSQL through one instrumented store each and acknowledges
// what committed; a MaintenanceWorker thread keeps the schema, partitions, sessions and
// analytics; the main loop only handles signals, the watchdog, metrics and status. Mirrors the
// agent's Daemon: one owner of every part, and one place that decides the shutdown order.
class CollectorDaemon {
 public:
  explicit CollectorDaemon(CollectorConfig config)
      : m_config(std::move(config)),
        m_clock(daemon::clock_from_environment()),
        m_topics(m_config.mqtt.topic_prefix),
        m_queue(static_cast<std::size_t>(m_config.max_pending_rows),
                static_cast<std::size_t>(m_config.max_pending_bytes)),
        m_window{m_config.max_future, m_config.retention_months},
        m_writer_settings(writer_options(m_config)) {
    log::info("collector: starting id=" + m_config.id + " now=" + format_rfc3339(m_clock->now()));
    // A bad or busy address throws here (a startup error).
    m_status_server = status::start_status_server(m_config.http_listen, m_metrics);
    if (m_status_server) {
      m_status_server->add_check("broker", [this] {
        return status::CheckResult{m_broker_up.load(), m_broker_up ? "connected" : "not connected"};
      });
      m_status_server->add_check("database", [this] { return m_database.check(); });
    }
    m_alerting = alerts::make_alerting(
        m_config, m_topics, *m_clock, m_counters, m_write_timer,
        [this](const std::string& topic, const std::string& payload, bool retained) {
          auto* client = m_alert_client.load();
          return client && client->publish({topic, payload, 1, retained}).has_value();
        },
        [this](const std::string& rule, std::string_view state) {
          m_metrics.count_alert_transition(rule, state);
        });
    if (m_alerting) m_metrics.declare_alert_rules(rule_names(m_alerting->engine().rules()));
    if (m_config.homeassistant_enabled) {
      m_discovery = std::make_unique<homeassistant::Discovery>(
          m_topics, homeassistant::Options{m_config.homeassistant_prefix,
                                           m_config.homeassistant_forget_after});
    }
    m_client = std::make_unique<mqtt::Client>(mqtt_options(), handlers());
    // Live values are published by the writers after each commit, through the client that
    // outlives them (shut_down()).
    m_live = std::make_unique<live::LivePublisher>(
        m_topics,
        [this](const std::string& topic, const std::string& payload, bool retained) {
          return m_client->publish({topic, payload, 1, retained}).has_value();
        },
        *m_clock);
  }

  ~CollectorDaemon() { shut_down(); }
  CollectorDaemon(const CollectorDaemon&) = delete;
  CollectorDaemon& operator=(const CollectorDaemon&) = delete;

  // Runs until SIGTERM or SIGINT; returns the exit code.
  int run(SignalWatcher& signals) {
    start_writers();
    // Starting without the database is not failing: the worker keeps trying, the writers keep
    // their batches unacknowledged, and /readyz says "database" meanwhile.
    m_maintenance = std::make_unique<MaintenanceWorker>(m_config, *m_clock, m_database);
    if (m_config.retention_months > 0) {
      m_retention = std::make_unique<RetentionWorker>(m_config, *m_clock, m_database);
    }
    m_client->start();
    m_alert_client = m_client.get();
    if (m_alerting) m_alerting->start();
    notify::ready();
    notify::status("running");
    log::info("collector: ready subscriptions=" + std::to_string(m_subscriptions) +
              " writers=" + std::to_string(m_config.pool_size));

    notify::WatchdogPinger watchdog;
    Periodic status_timer(milliseconds{10'000});
    while (true) {
      const auto now = Steady::now();
      const auto next = std::min(status_timer.next(), now + milliseconds{1000});
      const auto wait_ms =
          std::max<std::int64_t>(1, std::chrono::duration_cast<milliseconds>(next - now).count());
      const auto ev = signals.wait(static_cast<int>(wait_ms));
      if (ev == SignalEvent::stop) break;
      if (ev == SignalEvent::reload) reload();
      watchdog.maybe_ping();
      update_metrics();
      if (m_announce_online.exchange(false)) announce_online();
      resend_acks();
      if (m_discovery) publish_discovery();
      if (status_timer.due(Steady::now())) report_status();
    }
    notify::stopping();
    log::info("collector: stopping pending=" + std::to_string(m_queue.pending()));
    drain(signals, watchdog);
    announce_offline();
    shut_down();
    log::info("collector: stopped samples=" + std::to_string(m_counters.samples.load()) +
              " rejects=" + std::to_string(m_counters.rejects.load()));
    return 0;
  }

 private:
  mqtt::ClientOptions mqtt_options() {
    mqtt::ClientOptions o;
    o.settings = m_config.mqtt;
    o.client_id = "streamtrack-collector-" + m_config.id;
    o.clean_session = false;
    o.subscriptions = ingest::subscriptions(m_topics, m_config.shared_group);
    // Every collector sees every discovery config (never shared), to take over their removal.
    if (m_discovery) {
      o.subscriptions.push_back(homeassistant::config_filter(
          m_topics, {m_config.homeassistant_prefix, m_config.homeassistant_forget_after}));
    }
    o.max_inflight = 1024;
    // The broker announces a vanished collector (crash, kill -9, lost network).
    o.will = mqtt::Message{m_topics.collector_status(m_config.id),
                           wire::encode_status(wire::Status{.state = "offline"}), 1, true};
    m_subscriptions = o.subscriptions.size();
    return o;
  }

  mqtt::Handlers handlers() {
    mqtt::Handlers h;
    h.connected = [this] {
      m_broker_up = true;
      m_announce_online = true;  // by the main loop, not on Paho's thread
      if (m_discovery) m_discovery->reconnected();
      m_metrics.set_mqtt_connected(true);
      m_metrics.count_mqtt_connect();
      log::info("mqtt: connected server=" + m_config.mqtt.url);
    };
    h.disconnected = [this](const std::string& reason) {
      m_broker_up = false;
      m_metrics.set_mqtt_connected(false);
      log::warning("mqtt: disconnected reason=" + log::quote(reason));
    };
    h.message = [this](mqtt::Message m) { on_message(std::move(m)); };
    return h;
  }

  // On Paho's thread: classify and queue, never block.
  void on_message(mqtt::Message m) {
    if (m_discovery) {
      // Discovery configs are not samples: never classified (they would be rejects).
      if (m_discovery->config_seen(m.topic, m.payload, m_clock->now())) return;
      if (const auto parsed = m_topics.parse(m.topic);
          parsed && parsed->kind == wire::TopicKind::status) {
        m_discovery->agent_status(parsed->agent, m.payload);
      }
    }
    auto classified = ingest::classify_message(m_topics, std::move(m.topic), std::move(m.payload),
                                               m_clock->now(), m_window);
    if (classified.frame)
      m_metrics.count_frame(static_cast<std::int64_t>(classified.frame_samples));
    for (auto& item : classified.items) queue_item(std::move(item));
  }

  // On Paho's thread: one sample, status, health or reject; never blocks.
  void queue_item(ingest::Item item) {
    if (m_alerting) alerts::observe(*m_alerting, item);
    if (item.kind == ingest::Item::Kind::reject) {
      log::info("ingest: rejected topic=" + log::quote(item.topic) + " bytes=" +
                std::to_string(item.payload_bytes) + " reason=" + log::quote(item.reason));
    }
    if (m_queue.push(std::move(item))) return;
    if (m_queue.closed()) return;  // shutting down: unacknowledged, so its agent resends it
    const auto dropped = m_queue.dropped();
    if (dropped == 1 || dropped - m_dropped_logged.load() >= 1000) {
      m_dropped_logged = dropped;
      log::warning("ingest: backlog full, leaving samples unacknowledged dropped=" +
                   std::to_string(dropped) + " pending=" + std::to_string(m_queue.pending()) +
                   " pending_bytes=" + std::to_string(m_queue.pending_bytes()));
    }
  }

  // On a writer thread, after a commit; also from the main loop for acks the client refused
  // (its queue of unsent messages full right after a commit's live values, or the broker
  // away): those are kept and sent again each turn, so that agents do not resend the samples
  // after ack_timeout. The client outlives the writers (shut_down()).
  void send_ack(const std::string& agent, std::vector<std::int64_t> seqs) {
    const auto payload = wire::encode_ack({wire::to_ranges(seqs)});
    if (!m_client->publish({m_topics.ack(agent), payload, 1, false})) {
      log::debug("ingest: ack not sent yet (client queue full or broker unreachable) agent=" +
                 log::quote(agent));
      std::lock_guard lock(m_unsent_acks_mutex);
      auto& pending = m_unsent_acks[agent];
      // Bounded: beyond this the agent's ack_timeout resends the samples, as before.
      if (pending.size() + seqs.size() <= k_max_unsent_acks) {
        pending.insert(pending.end(), seqs.begin(), seqs.end());
      }
      return;
    }
    m_metrics.count_acks_sent(1);
  }

  // Main loop: sends again the acks the client refused, each agent's as one message.
  void resend_acks() {
    std::map<std::string, std::vector<std::int64_t>> due;
    {
      std::lock_guard lock(m_unsent_acks_mutex);
      due.swap(m_unsent_acks);
    }
    for (auto& [agent, seqs] : due) send_ack(agent, std::move(seqs));
  }

  void start_writers() {
    for (int i = 0; i < m_config.pool_size; ++i) {
      m_stores.push_back(std::make_unique<store::PgStore>(postgres_options(m_config, "writer"),
                                                          m_config.session_timeout));
    }
    m_pool_states = std::vector<std::atomic<int>>(m_stores.size());
    for (std::size_t i = 0; i < m_stores.size(); ++i) {
      m_writers.emplace_back([this, i] {
        InstrumentedStore store(*m_stores[i], m_metrics, m_write_timer, m_pool_states[i],
                                m_database, i);
        live::LivePublishingStore announced(store, *m_live);
        std::optional<homeassistant::DiscoveryStore> discovered;
        if (m_discovery) discovered.emplace(announced, *m_discovery, *m_clock);
        store::Store& top = discovered ? static_cast<store::Store&>(*discovered) : announced;
        batch::BatchWriter writer(
            top,
            [this](const std::string& agent, std::vector<std::int64_t> seqs) {
              send_ack(agent, std::move(seqs));
            },
            m_counters);
        writer.run(m_queue, m_writer_settings, m_abandon);
      });
    }
  }

  static std::vector<std::string> rule_names(const std::vector<alerts::Rule>& rules) {
    std::vector<std::string> names;
    for (const auto& r : rules) names.push_back(r.name);
    return names;
  }

  // SIGHUP: the keys declared `reloads` (log settings, [batch], [alerting], [[alert]],
  // [[alert_webhook]]); a configuration that fails validation changes nothing. The writers
  // take the [batch] options from their next batch on; queued and taken rows stay.
  void reload() {
    notify::reloading();
    try {
      const auto fresh = load_collector_config(m_config.path);
      auto alerting = alerts::read_alerting(fresh);
      log::set_level(fresh.log_level);
      log::set_format(fresh.log_format);
      m_queue.set_limits(static_cast<std::size_t>(fresh.max_pending_rows),
                         static_cast<std::size_t>(fresh.max_pending_bytes));
      m_writer_settings.update(writer_options(fresh), m_queue);
      const auto rules = alerting.rules.size();
      const auto webhooks = alerting.webhooks.size();
      if (m_alerting) {
        m_metrics.declare_alert_rules(rule_names(alerting.rules));
        m_alerting->engine().set_forget_after(fresh.alert_forget_after);
        m_alerting->reconfigure(std::move(alerting));
      } else if (rules > 0) {
        log::warning(
            "collector: [[alert]] rules apply on restart: this collector started "
            "without any, so its alerting is off");
      }
      log::notice("collector: reloaded files=" + std::to_string(fresh.files.size()) +
                  " batch_max_rows=" + std::to_string(fresh.batch_max_rows) + " alert_rules=" +
                  std::to_string(rules) + " webhooks=" + std::to_string(webhooks));
      std::string restart;
      for (const auto& k : config::restart_only_changes(collector_root_spec(), *m_config.document,
                                                        *fresh.document)) {
        restart += (restart.empty() ? "" : ",") + k;
      }
      if (!restart.empty()) {
        log::warning("collector: changed settings apply on restart keys=" + restart);
      }
    } catch (const config::ConfigError& e) {
      for (const auto& m : e.messages()) log::error("collector: reload refused: " + m);
      log::error("collector: reload refused, the running configuration stays");
    }
    notify::ready();
  }

  // The retained birth message on <root>/collectors/status/<id> (docs/mqtt.md, "Collector
  // status"); retried on the next loop turn while the client refuses it.
  void announce_online() {
    const wire::Status birth{.state = "online",
                             .version = std::string(k_version),
                             .started_at = m_started_at,
                             .ts = m_clock->now()};
    const auto topic = m_topics.collector_status(m_config.id);
    if (!m_client->publish({topic, wire::encode_status(birth), 1, true})) {
      m_announce_online = m_broker_up.load();
      return;
    }
    log::debug("mqtt: announced online topic=" + log::quote(topic));
  }

  // Home Assistant configs due now (new channels and agents, removals); what the client does
  // not take waits for the next turn.
  void publish_discovery() {
    auto due = m_discovery->take(m_clock->now());
    for (std::size_t i = 0; i < due.size(); ++i) {
      if (!m_client->publish({due[i].topic, due[i].payload, 1, due[i].retained})) {
        m_discovery->put_back({due.begin() + static_cast<std::ptrdiff_t>(i), due.end()});
        return;
      }
    }
  }

  // Replaces the birth message on a clean stop, before the disconnect (which sends no Will).
  void announce_offline() {
    const wire::Status last{.state = "offline", .reason = "shutdown", .ts = m_clock->now()};
    m_client->publish({m_topics.collector_status(m_config.id), wire::encode_status(last), 1, true});
  }

  // Gauges and the row counter, from the main loop (at least once a second).
  void update_metrics() {
    const auto samples = m_counters.samples.load();
    m_metrics.count_ingest_rows(static_cast<std::int64_t>(samples - m_reported_samples));
    m_reported_samples = samples;
    m_metrics.set_pending_rows(static_cast<std::int64_t>(m_queue.pending()));
    std::int64_t by_state[3] = {0, 0, 0};
    for (const auto& st : m_pool_states) ++by_state[st.load()];
    m_metrics.set_pool(by_state[0], by_state[1], by_state[2]);
    if (!m_alerting) return;
    std::int64_t pending = 0;
    std::int64_t firing = 0;
    std::int64_t resolved = 0;
    for (const auto& a : m_alerting->engine().alerts()) {
      ++(a.state == alerts::AlertState::pending  ? pending
         : a.state == alerts::AlertState::firing ? firing
                                                 : resolved);
    }
    m_metrics.set_alerts("pending", pending);
    m_metrics.set_alerts("firing", firing);
    m_metrics.set_alerts("resolved", resolved);
  }

  void report_status() {
    const auto samples = m_counters.samples.load();
    notify::status("samples=" + std::to_string(samples) +
                   " rejects=" + std::to_string(m_counters.rejects.load()) +
                   " pending=" + std::to_string(m_queue.pending()) +
                   (m_database.up() ? "" : " database=" + m_database.check().detail));
    if (samples == m_last_samples) return;
    log::info("ingest: progress samples=" + std::to_string(samples) +
              " rejects=" + std::to_string(m_counters.rejects.load()) +
              " batches=" + std::to_string(m_counters.batches.load()) +
              " pending=" + std::to_string(m_queue.pending()));
    m_last_samples = samples;
  }

  // Writes what is queued (for at most shutdown_timeout) while the broker connection still
  // carries its acks.
  void drain(SignalWatcher& signals, notify::WatchdogPinger& watchdog) {
    if (m_alerting) m_alerting->stop();
    m_alert_client = nullptr;
    m_queue.close();
    const auto deadline = Steady::now() + m_config.shutdown_timeout;
    while (m_queue.pending() > 0 && Steady::now() < deadline) {
      watchdog.maybe_ping();
      signals.wait(20);
    }
  }

  // Idempotent: writers first (they acknowledge through the client), then the client, then
  // the maintenance worker.
  void shut_down() {
    if (m_alerting) m_alerting->stop();
    m_alert_client = nullptr;
    m_queue.close();
    m_abandon = true;
    for (auto& w : m_writers) {
      if (w.joinable()) w.join();
    }
    if (m_client) {
      resend_acks();  // a last try for acks the client refused
      m_client->stop(milliseconds{2000});
    }
    if (m_retention) m_retention->stop();
    if (m_maintenance) m_maintenance->stop();
  }

  CollectorConfig m_config;
  std::unique_ptr<Clock> m_clock;
  status::CollectorMetrics m_metrics;
  DatabaseHealth m_database{m_metrics};
  std::atomic<bool> m_broker_up{false};
  std::atomic<bool> m_announce_online{false};
  TimePoint m_started_at = m_clock->now();
  std::unique_ptr<status::StatusServer> m_status_server;
  const wire::Topics m_topics;
  ingest::IngestQueue m_queue;
  const ingest::TimeWindow m_window;
  batch::WriterSettings m_writer_settings;  // [batch], replaced on SIGHUP
  batch::WriterCounters m_counters;
  std::atomic<bool> m_abandon{false};
  std::atomic<std::uint64_t> m_dropped_logged{0};
  static constexpr std::size_t k_max_unsent_acks = 1'000'000;  // seqs per agent
  std::mutex m_unsent_acks_mutex;
  std::map<std::string, std::vector<std::int64_t>> m_unsent_acks;  // agent -> committed seqs
  std::size_t m_subscriptions = 0;
  // Alerts publish through the client from their own thread, and are stopped before it.
  std::atomic<mqtt::Client*> m_alert_client{nullptr};
  alerts::WriteTimer m_write_timer;
  std::unique_ptr<alerts::AlertService> m_alerting;
  std::unique_ptr<homeassistant::Discovery> m_discovery;  // before the client that feeds it
  std::unique_ptr<mqtt::Client> m_client;
  std::unique_ptr<live::LivePublisher> m_live;
  std::vector<std::unique_ptr<store::PgStore>> m_stores;
  std::vector<std::atomic<int>> m_pool_states;
  std::vector<std::thread> m_writers;
  std::unique_ptr<MaintenanceWorker> m_maintenance;
  std::unique_ptr<RetentionWorker> m_retention;
  std::uint64_t m_reported_samples = 0;
  std::uint64_t m_last_samples = 0;
};

}  // namespace

int run_migrations(const CollectorConfig& config) {
  log::set_level(config.log_level);
  log::set_format(config.log_format);
  const auto clock = daemon::clock_from_environment();
  try {
    // An operator waits for this one: the [postgres] lock_timeout, not the short DDL one.
    store::PgConnection conn(postgres_options(config, "migrate"));
    const auto applied = store::apply_migrations(conn);
    for (const int v : applied) log::notice("schema: applied migration=" + std::to_string(v));
    log_partitions(partitions::maintain_partitions(conn, clock->now(), partition_options(config)));
    log::info("schema: up to date version=" + std::to_string(store::migrations().back().version));
    return 0;
  } catch (const store::PgError& e) {
    log::error("schema: migration failed error=" + log::quote(e.describe()));
    return 1;
  }
}

int run_daemon(CollectorConfig config) {
  log::set_level(config.log_level);
  log::set_format(config.log_format);
  SignalWatcher signals;  // before any thread exists
  CollectorDaemon daemon(std::move(config));
  return daemon.run(signals);
}

}  // namespace streamtrack::collector
