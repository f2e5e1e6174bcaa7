#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "collector/alerts/wiring.hpp"
#include "collector/analytics/hourly.hpp"
#include "collector/app.hpp"
#include "collector/batch/batch_writer.hpp"
#include "collector/daemon/fake_clock.hpp"
#include "collector/ingest/ingest.hpp"
#include "collector/partitions/partition_manager.hpp"
#include "collector/sessions/session_sweeper.hpp"
#include "collector/store/migrations.hpp"
#include "collector/store/pg_store.hpp"
#include "common/daemon/log.hpp"
#include "common/daemon/notify.hpp"
#include "common/daemon/signals.hpp"
#include "common/http/status_server.hpp"
#include "common/mqtt/client.hpp"
#include "common/daemon/periodic.hpp"
#include "common/util/backoff.hpp"
#include "common/wire/codec.hpp"
#include "common/wire/topics.hpp"

namespace streamtrack::collector {

namespace {

using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

partitions::MaintenanceOptions partition_options(const CollectorConfig& c) {
  return {c.premake_months, c.retention_months, c.rescue_chunk_rows};
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
// maintenance worker (reachability, schema) and the writers (their last outcome).
class DatabaseHealth {
 public:
  void set_reachable(bool up, const std::string& error = {}) {
    std::lock_guard lock(m_mutex);
    m_reachable = up;
    if (!up) m_maintenance_error = error;
  }
  void set_schema_ready() { m_schema_ready = true; }
  bool schema_ready() const { return m_schema_ready; }
  // A writer's batch failed (retried) with `error`, or (empty) committed.
  void writer_outcome(std::size_t writer, const std::string& error) {
    std::lock_guard lock(m_mutex);
    if (m_writer_errors.size() <= writer) m_writer_errors.resize(writer + 1);
    m_writer_errors[writer] = error;
  }
  bool up() const { return check().ok; }
  http::CheckResult check() const {
    std::lock_guard lock(m_mutex);
    if (!m_reachable) return {false, "unreachable: " + m_maintenance_error};
    if (!m_schema_ready) return {false, "schema not applied yet"};
    for (const auto& e : m_writer_errors) {
      if (!e.empty()) return {false, "writes failing: " + e};
    }
    return {true, "reachable"};
  }

 private:
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
    Periodic sessions(
        std::min<milliseconds>(m_config.session_timeout / 4, milliseconds{30'000}));
    while (true) {
      const auto next = std::min({probe.next(), analytics.next(), partitions.next(),
                                  sessions.next()});
      if (m_wakeup.wait_until(next)) break;
      const auto now = Steady::now();
      if (probe.due(now)) task("database", [](store::PgConnection& c) { c.exec("SELECT 1"); });
      if (analytics.due(now)) task("analytics", refresh_analytics);
      if (partitions.due(now)) task("partitions", [this](store::PgConnection& c) {
        log_partitions(partitions::maintain_partitions(c, m_clock.now(),
                                                       partition_options(m_config)));
      });
      if (sessions.due(now)) task("sessions", [this](store::PgConnection& c) {
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

  // Migrations, then one round of partitions (whose failures are only logged: a month that
  // cannot be made is no reason not to start). False when the database is unreachable.
  bool prepare() {
    return task("schema", [this](store::PgConnection& c) {
      const auto applied = store::apply_migrations(c);
      for (const int v : applied) log::notice("schema: applied migration=" + std::to_string(v));
      try {
        log_partitions(partitions::maintain_partitions(c, m_clock.now(),
                                                       partition_options(m_config)));
      } catch (const store::PgError& e) {
        if (!c.healthy()) throw;
        log::error("partitions: maintenance failed error=" + log::quote(e.describe()));
      }
      m_health.set_schema_ready();
      log::info("schema: ready");
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

// What one pool connection is doing, for collector_postgres_connections.
enum class PoolState : int { idle, busy, broken };

// A Store that reports each write attempt of another to the metrics: rows, latency and outcome
// per batch, dead-lettered rows by reason, and its pool connection's state. Only atomic
// updates, on the writer thread.
class MeteredStore final : public store::Store {
 public:
  MeteredStore(store::Store& inner, http::CollectorMetrics& metrics, std::atomic<int>& state,
               DatabaseHealth& health, std::size_t writer)
      : m_inner(inner), m_metrics(metrics), m_state(state), m_health(health), m_writer(writer) {}

  store::WriteOutcome write(const std::vector<ingest::Item>& batch) override {
    // Before the schema is applied, a write could only fail (or, worse, find half a schema).
    if (!m_health.schema_ready()) return {store::WriteStatus::retry, "schema not applied yet"};
    m_state = static_cast<int>(PoolState::busy);
    const auto start = Steady::now();
    auto outcome = m_inner.write(batch);
    const http::Seconds took = Steady::now() - start;
    const auto rows = static_cast<std::int64_t>(batch.size());
    switch (outcome.status) {
      case store::WriteStatus::ok:
        m_metrics.batch_written(rows, took, http::Outcome::ok);
        count_rejects(batch);
        break;
      case store::WriteStatus::retry:
        m_metrics.batch_written(rows, took, http::Outcome::retry);
        break;
      case store::WriteStatus::rejected:
        m_metrics.batch_written(rows, took, http::Outcome::error);
        break;
    }
    m_state = static_cast<int>(outcome.status == store::WriteStatus::retry ? PoolState::broken
                                                                           : PoolState::idle);
    m_health.writer_outcome(m_writer,
                            outcome.status == store::WriteStatus::retry ? outcome.error : "");
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
  http::CollectorMetrics& m_metrics;
  std::atomic<int>& m_state;
  DatabaseHealth& m_health;
  std::size_t m_writer;
};

}  // namespace

int run_migrations(const CollectorConfig& config) {
  log::set_level(config.log_level);
  const auto clock = daemon::clock_from_environment();
  try {
    store::PgConnection conn(maintenance_options(config));
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
  SignalWatcher signals;
  const auto clock = daemon::clock_from_environment();
  log::info("collector: starting id=" + config.id + " now=" + format_rfc3339(clock->now()));

  http::CollectorMetrics metrics;
  DatabaseHealth database;
  std::atomic<bool> broker_up{false};
  // A bad or busy address throws here (a startup error).
  const auto status_server = http::start_status_server(config.http_listen, metrics);
  if (status_server) {
    status_server->add_check("broker", [&broker_up] {
      return http::CheckResult{broker_up.load(), broker_up ? "connected" : "not connected"};
    });
    status_server->add_check("database", [&database] { return database.check(); });
  }

  const wire::Topics topics(config.mqtt.topic_prefix);
  ingest::IngestQueue queue(static_cast<std::size_t>(config.max_pending_rows),
                            static_cast<std::size_t>(config.max_pending_bytes));
  const ingest::TimeWindow window{config.max_future, config.retention_months};
  batch::WriterCounters counters;
  std::atomic<bool> abandon{false};

  // Alerts publish through the client from their own thread, and are stopped before it.
  std::atomic<mqtt::Client*> alert_client{nullptr};
  alerts::WriteTimer write_timer;
  const auto alerting = alerts::make_alerting(
      config, topics, *clock, counters, write_timer,
      [&alert_client](const std::string& topic, const std::string& payload, bool retained) {
        auto* client = alert_client.load();
        return client && client->publish({topic, payload, 1, retained}).has_value();
      });

  std::atomic<std::uint64_t> dropped_logged{0};
  mqtt::ClientOptions mqtt_options;
  mqtt_options.settings = config.mqtt;
  mqtt_options.client_id = "streamtrack-collector-" + config.id;
  mqtt_options.clean_session = false;
  mqtt_options.subscriptions = ingest::subscriptions(topics, config.shared_group);
  mqtt_options.max_inflight = 1024;
  mqtt::Handlers handlers;
  handlers.connected = [&] {
    broker_up = true;
    metrics.set_mqtt_connected(true);
    metrics.count_mqtt_connect();
    log::info("mqtt: connected server=" + config.mqtt.url);
  };
  handlers.disconnected = [&](const std::string& reason) {
    broker_up = false;
    metrics.set_mqtt_connected(false);
    log::warning("mqtt: disconnected reason=" + log::quote(reason));
  };
  handlers.message = [&](mqtt::Message m) {
    auto item = ingest::classify(topics, std::move(m.topic), std::move(m.payload), clock->now(),
                                 window);
    if (!item) return;
    if (alerting) alerts::observe(*alerting, *item);
    if (item->kind == ingest::Item::Kind::reject) {
      log::info("ingest: rejected topic=" + log::quote(item->topic) +
                " bytes=" + std::to_string(item->payload_bytes) +
                " reason=" + log::quote(item->reason));
    }
    if (!queue.push(std::move(*item))) {
      const auto dropped = queue.dropped();
      if (dropped == 1 || dropped - dropped_logged.load() >= 1000) {
        dropped_logged = dropped;
        log::warning("ingest: backlog full, leaving samples unacknowledged dropped=" +
                     std::to_string(dropped) + " pending=" + std::to_string(queue.pending()) +
                     " pending_bytes=" + std::to_string(queue.pending_bytes()));
      }
    }
  };
  // Constructed before the writers, which acknowledge through it, and stopped only after they
  // are joined: the last acks are published before the disconnect.
  mqtt::Client client(mqtt_options, handlers);
  const auto ack = [&topics, &client, &metrics](const std::string& agent,
                                                std::vector<std::int64_t> seqs) {
    const auto payload = wire::encode_ack({wire::to_ranges(std::move(seqs))});
    if (!client.publish({topics.ack(agent), payload, 1, false})) {
      log::debug("ingest: ack not sent (broker unreachable) agent=" + log::quote(agent));
      return;
    }
    metrics.count_acks_sent(1);
  };

  batch::WriterOptions writer_options;
  writer_options.max_rows = static_cast<std::size_t>(config.batch_max_rows);
  writer_options.max_delay = config.batch_max_delay;
  std::vector<std::unique_ptr<store::PgStore>> stores;
  for (int i = 0; i < config.pool_size; ++i) {
    stores.push_back(std::make_unique<store::PgStore>(postgres_options(config, "writer"),
                                                      config.session_timeout));
  }
  std::vector<std::atomic<int>> pool_states(stores.size());
  std::vector<std::thread> writers;
  for (std::size_t i = 0; i < stores.size(); ++i) {
    writers.emplace_back([&, i, store = stores[i].get(), &state = pool_states[i]] {
      alerts::TimedStore timed(*store, write_timer);
      MeteredStore metered(timed, metrics, state, database, i);
      batch::BatchWriter writer(metered, ack, counters);
      writer.run(queue, writer_options, abandon);
    });
  }
  // Starting without the database is not failing: the worker keeps trying, the writers keep
  // their batches unacknowledged, and /readyz says "database" meanwhile.
  MaintenanceWorker maintenance(config, *clock, database);
  client.start();
  alert_client = &client;
  if (alerting) alerting->start();

  notify::ready();
  notify::status("running");
  log::info("collector: ready subscriptions=" + std::to_string(mqtt_options.subscriptions.size()) +
            " writers=" + std::to_string(config.pool_size));

  notify::WatchdogPinger watchdog;
  Periodic status_timer(milliseconds{10'000});
  std::uint64_t last_samples = 0;
  std::uint64_t reported_samples = 0;
  // Gauges and the row counter, from the main loop (at least once a second).
  const auto update_metrics = [&] {
    const auto samples = counters.samples.load();
    metrics.count_ingest_rows(static_cast<std::int64_t>(samples - reported_samples));
    reported_samples = samples;
    metrics.set_pending_rows(static_cast<std::int64_t>(queue.pending()));
    std::int64_t by_state[3] = {0, 0, 0};
    for (const auto& st : pool_states) ++by_state[st.load()];
    metrics.set_pool(by_state[0], by_state[1], by_state[2]);
    metrics.set_database_up(database.up());
    if (alerting) {
      std::int64_t pending = 0;
      std::int64_t firing = 0;
      std::int64_t resolved = 0;
      for (const auto& a : alerting->engine().alerts()) {
        ++(a.state == alerts::AlertState::pending  ? pending
           : a.state == alerts::AlertState::firing ? firing
                                                   : resolved);
      }
      metrics.set_alerts("pending", pending);
      metrics.set_alerts("firing", firing);
      metrics.set_alerts("resolved", resolved);
    }
  };
  while (true) {
    const auto now = Steady::now();
    const auto next = std::min(status_timer.next(), now + milliseconds{1000});
    const auto wait_ms =
        std::max<std::int64_t>(1, std::chrono::duration_cast<milliseconds>(next - now).count());
    const auto ev = signals.wait(static_cast<int>(wait_ms));
    if (ev == SignalEvent::stop) break;
    if (ev == SignalEvent::reload) {
      notify::reloading();
      try {
        const auto fresh = load_collector_config(config.path);
        log::set_level(fresh.log_level);
        log::notice("collector: reloaded log_level (other settings apply on restart)");
      } catch (const config::ConfigError& e) {
        for (const auto& m : e.messages()) log::error("collector: reload refused: " + m);
      }
      notify::ready();
    }
    watchdog.maybe_ping();
    update_metrics();
    if (status_timer.due(Steady::now())) {
      const auto samples = counters.samples.load();
      notify::status("samples=" + std::to_string(samples) +
                     " rejects=" + std::to_string(counters.rejects.load()) +
                     " pending=" + std::to_string(queue.pending()) +
                     (database.up() ? "" : " database=" + database.check().detail));
      if (samples != last_samples) {
        log::info("ingest: progress samples=" + std::to_string(samples) +
                  " rejects=" + std::to_string(counters.rejects.load()) +
                  " batches=" + std::to_string(counters.batches.load()) +
                  " pending=" + std::to_string(queue.pending()));
        last_samples = samples;
      }
    }
  }

  // Write what is queued and acknowledge it while still connected, then disconnect.
  notify::stopping();
  log::info("collector: stopping pending=" + std::to_string(queue.pending()));
  if (alerting) alerting->stop();
  alert_client = nullptr;
  queue.close();
  const auto deadline = Steady::now() + config.shutdown_timeout;
  while (queue.pending() > 0 && Steady::now() < deadline) {
    watchdog.maybe_ping();
    signals.wait(20);
  }
  abandon = true;
  for (auto& w : writers) w.join();
  client.stop(milliseconds{2000});
  maintenance.stop();
  log::info("collector: stopped samples=" + std::to_string(counters.samples.load()) +
            " rejects=" + std::to_string(counters.rejects.load()));
  return 0;
}

}  // namespace streamtrack::collector
