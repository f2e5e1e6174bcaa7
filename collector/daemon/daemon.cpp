#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "collector/alerts/wiring.hpp"
#include "collector/analytics/hourly.hpp"
#include "collector/app.hpp"
#include "collector/batch/batch_writer.hpp"
#include "collector/daemon/fake_clock.hpp"
#include "collector/ingest/ingest.hpp"
#include "collector/live/live_publisher.hpp"
#include "collector/partitions/partition_manager.hpp"
#include "collector/sessions/session_sweeper.hpp"
#include "collector/store/migrations.hpp"
#include "collector/store/pg_store.hpp"
#include "common/daemon/log.hpp"
#include "common/daemon/notify.hpp"
#include "common/daemon/signals.hpp"
#include "common/http/status_server.hpp"
#include "common/mqtt/client.hpp"
#include "common/util/backoff.hpp"
#include "common/wire/codec.hpp"
#include "common/wire/topics.hpp"

namespace streamtrack::collector {

namespace {

using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

store::ConnectOptions connect_options(const CollectorConfig& c) {
  store::ConnectOptions o;
  o.dsn = c.postgres_dsn;
  o.password = c.postgres_password;
  o.connect_timeout = c.connect_timeout;
  o.application_name = "streamtrack-collector " + c.id;
  return o;
}

void log_partitions(const partitions::MaintenanceReport& r) {
  for (const auto& name : r.created) log::info("partitions: created partition=" + name);
  for (const auto& name : r.dropped) log::notice("partitions: dropped partition=" + name);
  if (r.rescued_rows > 0) {
    log::warning("partitions: moved rows out of the default partition rows=" +
                 std::to_string(r.rescued_rows));
  }
  if (r.default_rows > 0) {
    log::warning("partitions: default partition holds rows=" + std::to_string(r.default_rows) +
                 " (samples outside every monthly partition, older than retention)");
  }
}

// The connection used by the main loop for schema, partitions, sessions and analytics. Its
// outcomes decide `database_up` (the /readyz "database" check and collector_postgres_up).
class Maintenance {
 public:
  Maintenance(const CollectorConfig& config, const Clock& clock, std::atomic<bool>& database_up)
      : m_config(config), m_clock(clock), m_database_up(database_up) {}

  // Connects and migrates; false when the database is unreachable (logged).
  bool prepare() {
    try {
      connection();
      const auto applied = store::apply_migrations(*m_conn);
      for (const int v : applied) log::notice("schema: applied migration=" + std::to_string(v));
      partitions();
      m_database_up = true;
      return true;
    } catch (const store::PgError& e) {
      fail("schema", e);
      return false;
    }
  }

  void partitions() {
    log_partitions(partitions::maintain_partitions(
        connection(), m_clock.now(), m_config.premake_months, m_config.retention_months));
  }

  void run(const char* what, const std::function<void(store::PgConnection&)>& task) {
    try {
      task(connection());
      m_database_up = true;
    } catch (const store::PgError& e) {
      fail(what, e);
    }
  }

 private:
  store::PgConnection& connection() {
    if (!m_conn || !m_conn->healthy()) {
      m_conn.reset();
      m_conn = std::make_unique<store::PgConnection>(connect_options(m_config));
    }
    return *m_conn;
  }

  void fail(const char* what, const store::PgError& e) {
    log::warning(std::string(what) + ": database error error=" + log::quote(e.describe()));
    if (!m_conn || !m_conn->healthy()) m_conn.reset();
    // An SQL error on a live connection still means the database answers.
    m_database_up = m_conn != nullptr;
  }

  const CollectorConfig& m_config;
  const Clock& m_clock;
  std::atomic<bool>& m_database_up;
  std::unique_ptr<store::PgConnection> m_conn;
};

class Periodic {
 public:
  explicit Periodic(milliseconds every) : m_every(every), m_next(Steady::now() + every) {}
  bool due(Steady::time_point now) {
    if (now < m_next) return false;
    m_next = now + m_every;
    return true;
  }
  Steady::time_point next() const { return m_next; }

 private:
  milliseconds m_every;
  Steady::time_point m_next;
};

// What one pool connection is doing, for collector_postgres_connections.
enum class PoolState : int { idle, busy, broken };

// A Store that reports each write attempt of another to the metrics: rows, latency and outcome
// per batch, dead-lettered rows by reason, and its pool connection's state. Only atomic
// updates, on the writer thread.
class MeteredStore final : public store::Store {
 public:
  MeteredStore(store::Store& inner, http::CollectorMetrics& metrics, std::atomic<int>& state)
      : m_inner(inner), m_metrics(metrics), m_state(state) {}

  store::WriteOutcome write(const std::vector<ingest::Item>& batch) override {
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
    return outcome;
  }

 private:
  // Committed dead letters: refused at decode by ingest, or refused by the database (the batch
  // writer's reason "database refused it: ...").
  void count_rejects(const std::vector<ingest::Item>& batch) {
    std::int64_t decode = 0;
    std::int64_t database = 0;
    for (const auto& item : batch) {
      if (item.kind != ingest::Item::Kind::reject) continue;
      ++(item.reason.starts_with("database refused it") ? database : decode);
    }
    if (decode > 0) m_metrics.count_ingest_rejects("decode", decode);
    if (database > 0) m_metrics.count_ingest_rejects("database", database);
  }

  store::Store& m_inner;
  http::CollectorMetrics& m_metrics;
  std::atomic<int>& m_state;
};

}  // namespace

int run_migrations(const CollectorConfig& config) {
  log::set_level(config.log_level);
  const auto clock = daemon::clock_from_environment();
  try {
    store::PgConnection conn(connect_options(config));
    const auto applied = store::apply_migrations(conn);
    for (const int v : applied) log::notice("schema: applied migration=" + std::to_string(v));
    log_partitions(partitions::maintain_partitions(conn, clock->now(), config.premake_months,
                                                   config.retention_months));
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
  std::atomic<bool> database_up{false};
  std::atomic<bool> broker_up{false};
  // Before the database wait, so /readyz tells why we are not ready; a bad or busy address
  // throws here (a startup error).
  const auto status_server = http::start_status_server(config.http_listen, metrics);
  if (status_server) {
    status_server->add_check("broker", [&broker_up] {
      return http::CheckResult{broker_up.load(), broker_up ? "connected" : "not connected"};
    });
    status_server->add_check("database", [&database_up] {
      return http::CheckResult{database_up.load(), database_up ? "reachable" : "unreachable"};
    });
  }
  notify::status("connecting to PostgreSQL");

  Maintenance maintenance(config, *clock, database_up);
  Backoff startup_backoff(milliseconds{500}, milliseconds{10'000});
  while (!maintenance.prepare()) {
    const auto delay = startup_backoff.next_delay();
    if (const auto ev = signals.wait(static_cast<int>(delay.count()) + 1);
        ev == SignalEvent::stop) {
      return 0;
    }
  }

  const wire::Topics topics(config.mqtt.topic_prefix);
  ingest::IngestQueue queue(static_cast<std::size_t>(config.max_pending_rows));
  batch::WriterCounters counters;
  std::atomic<bool> abandon{false};

  mqtt::Client* client_ptr = nullptr;
  const auto ack = [&topics, &client_ptr, &metrics](const std::string& agent,
                                                    std::vector<std::int64_t> seqs) {
    if (!client_ptr) return;
    const auto payload = wire::encode_ack({wire::to_ranges(std::move(seqs))});
    if (!client_ptr->publish({topics.ack(agent), payload, 1, false})) {
      log::debug("ingest: ack not sent (broker unreachable) agent=" + log::quote(agent));
      return;
    }
    metrics.count_acks_sent(1);
  };

  alerts::WriteTimer write_timer;
  const auto alerting = alerts::make_alerting(
      config, topics, *clock, counters, write_timer,
      [&client_ptr](const std::string& topic, const std::string& payload, bool retained) {
        return client_ptr && client_ptr->publish({topic, payload, 1, retained}).has_value();
      });

  live::LivePublisher live_values(
      topics,
      [&client_ptr](const std::string& topic, const std::string& payload, bool retained) {
        return client_ptr && client_ptr->publish({topic, payload, 1, retained}).has_value();
      },
      *clock);

  std::vector<std::unique_ptr<store::PgStore>> stores;
  std::vector<std::thread> writers;
  batch::WriterOptions writer_options;
  writer_options.max_rows = static_cast<std::size_t>(config.batch_max_rows);
  writer_options.max_delay = config.batch_max_delay;
  for (int i = 0; i < config.pool_size; ++i) {
    stores.push_back(
        std::make_unique<store::PgStore>(connect_options(config), config.session_timeout));
  }

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
    auto item = ingest::classify(topics, std::move(m.topic), std::move(m.payload), clock->now());
    if (!item) return;
    if (alerting) alerts::observe(*alerting, *item);
    if (item->kind == ingest::Item::Kind::reject) {
      log::info("ingest: rejected topic=" + log::quote(item->topic) +
                " reason=" + log::quote(item->reason));
    }
    if (!queue.push(std::move(*item))) {
      const auto dropped = queue.dropped();
      if (dropped == 1 || dropped - dropped_logged.load() >= 1000) {
        dropped_logged = dropped;
        log::warning("ingest: backlog full, leaving samples unacknowledged dropped=" +
                     std::to_string(dropped) + " pending=" + std::to_string(queue.pending()));
      }
    }
  };
  mqtt::Client client(mqtt_options, handlers);
  client_ptr = &client;

  std::vector<std::atomic<int>> pool_states(stores.size());
  for (std::size_t i = 0; i < stores.size(); ++i) {
    writers.emplace_back([&, store = stores[i].get(), &state = pool_states[i]] {
      alerts::TimedStore timed(*store, write_timer);
      MeteredStore metered(timed, metrics, state);
      live::LivePublishingStore announced(metered, live_values);
      batch::BatchWriter writer(announced, ack, counters);
      writer.run(queue, writer_options, abandon);
    });
  }
  client.start();
  if (alerting) alerting->start();

  notify::ready();
  notify::status("running");
  log::info("collector: ready subscriptions=" + std::to_string(mqtt_options.subscriptions.size()) +
            " writers=" + std::to_string(config.pool_size));

  notify::WatchdogPinger watchdog;
  Periodic analytics_timer(config.analytics_refresh_interval);
  Periodic partition_timer(config.maintenance_interval);
  Periodic session_timer(std::min<milliseconds>(config.session_timeout / 4, milliseconds{30'000}));
  Periodic status_timer(milliseconds{10'000});
  Periodic database_probe(milliseconds{5000});
  std::uint64_t last_samples = 0;
  std::uint64_t reported_samples = 0;
  // Gauges and the row counter, from the main loop (at least once a second).
  const auto update_metrics = [&] {
    const auto samples = counters.samples.load();
    metrics.count_ingest_rows(static_cast<std::int64_t>(samples - reported_samples));
    reported_samples = samples;
    metrics.set_pending_rows(static_cast<std::int64_t>(queue.pending()));
    std::int64_t by_state[3] = {0, 0, 0};
    for (const auto& s : pool_states) ++by_state[s.load()];
    metrics.set_pool(by_state[0], by_state[1], by_state[2]);
    metrics.set_database_up(database_up.load());
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
    const auto next =
        std::min({analytics_timer.next(), partition_timer.next(), session_timer.next(),
                  status_timer.next(), now + milliseconds{1000}});
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
    const auto t = Steady::now();
    if (database_probe.due(t)) {
      maintenance.run("database", [](store::PgConnection& c) { c.exec("SELECT 1"); });
    }
    update_metrics();
    if (analytics_timer.due(t)) {
      maintenance.run("analytics", [](store::PgConnection& c) {
        const auto n = analytics::refresh_hourly(c);
        if (n > 0) log::debug("analytics: refreshed hours=" + std::to_string(n));
      });
    }
    if (partition_timer.due(t)) {
      maintenance.run("partitions", [&](store::PgConnection&) { maintenance.partitions(); });
    }
    if (session_timer.due(t)) {
      maintenance.run("sessions", [&](store::PgConnection& c) {
        const auto n = sessions::close_silent_sessions(c, clock->now(), config.session_timeout);
        if (n > 0) log::info("sessions: closed silent sessions=" + std::to_string(n));
      });
    }
    if (status_timer.due(t)) {
      const auto samples = counters.samples.load();
      notify::status("samples=" + std::to_string(samples) +
                     " rejects=" + std::to_string(counters.rejects.load()) +
                     " pending=" + std::to_string(queue.pending()));
      if (samples != last_samples) {
        log::info("ingest: progress samples=" + std::to_string(samples) +
                  " rejects=" + std::to_string(counters.rejects.load()) +
                  " batches=" + std::to_string(counters.batches.load()) +
                  " pending=" + std::to_string(queue.pending()));
        last_samples = samples;
      }
    }
  }

  notify::stopping();
  log::info("collector: stopping pending=" + std::to_string(queue.pending()));
  if (alerting) alerting->stop();
  client.stop(milliseconds{2000});
  client_ptr = nullptr;
  queue.close();
  const auto deadline = Steady::now() + config.shutdown_timeout;
  while (queue.pending() > 0 && Steady::now() < deadline) {
    std::this_thread::sleep_for(milliseconds{20});
  }
  abandon = true;
  for (auto& w : writers) w.join();
  maintenance.run("analytics", [](store::PgConnection& c) { analytics::refresh_hourly(c); });
  log::info("collector: stopped samples=" + std::to_string(counters.samples.load()) +
            " rejects=" + std::to_string(counters.rejects.load()));
  return 0;
}

}  // namespace streamtrack::collector
