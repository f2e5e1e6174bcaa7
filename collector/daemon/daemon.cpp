#include <malloc.h>

#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "collector/alerts/wiring.hpp"
#include "collector/app.hpp"
#include "collector/batch/batch_writer.hpp"
#include "collector/daemon/ack_sender.hpp"
#include "collector/daemon/database_health.hpp"
#include "collector/daemon/fake_clock.hpp"
#include "collector/daemon/instrumented_store.hpp"
#include "collector/daemon/intake.hpp"
#include "collector/daemon/maintenance.hpp"
#include "collector/daemon/options.hpp"
#include "collector/daemon/reload.hpp"
#include "collector/daemon/status_report.hpp"
#include "collector/homeassistant/discovery.hpp"
#include "collector/ingest/ingest.hpp"
#include "collector/live/live_publisher.hpp"
#include "collector/store/migrations.hpp"
#include "collector/store/pg_store.hpp"
#include "common/daemon/log.hpp"
#include "common/daemon/notify.hpp"
#include "common/daemon/periodic.hpp"
#include "common/daemon/signals.hpp"
#include "common/mqtt/client.hpp"
#include "common/status/status_server.hpp"
#include "common/version.hpp"
#include "common/wire/codec.hpp"
#include "common/wire/topics.hpp"

namespace streamtrack::collector {

namespace {

// The collector: MQTT messages are classified on Paho's thread and queued (daemon::Intake); a
// pool of writer threads moves batches into PostgreSQL through one instrumented store each and
// acknowledges what committed (daemon::AckSender); a MaintenanceWorker thread keeps the schema,
// partitions, sessions and analytics, a RetentionWorker the expired months; the main loop only
// handles signals, reloads, the watchdog, metrics and status. Mirrors the agent's Daemon: one
// owner of every part, and one place that decides the shutdown order.
class CollectorDaemon {
 public:
  explicit CollectorDaemon(CollectorConfig config)
      : m_config(std::move(config)),
        m_clock(daemon::clock_from_environment()),
        m_topics(m_config.mqtt.topic_prefix),
        m_queue(static_cast<std::size_t>(m_config.max_pending_rows),
                static_cast<std::size_t>(m_config.max_pending_bytes)),
        m_window{m_config.max_future, m_config.retention_months},
        m_writer_settings(daemon::writer_options(m_config)) {
    log::info("collector: starting id=" + m_config.id + " now=" + format_rfc3339(m_clock->now()));
    // A bad or busy address throws here (a startup error).
    m_status_server = status::start_status_server(m_config.http_listen, m_metrics);
    if (m_status_server) daemon::add_readiness_checks(*m_status_server, m_broker_up, m_database);
    m_alerting = alerts::make_alerting(
        m_config, m_topics, *m_clock, m_counters, m_write_timer,
        [this](const std::string& topic, const std::string& payload, bool retained) {
          auto* client = m_alert_client.load();
          return client && client->publish({topic, payload, 1, retained}).has_value();
        },
        [this](const std::string& rule, std::string_view state) {
          m_metrics.count_alert_transition(rule, state);
        });
    if (m_alerting) daemon::declare_alert_rules(m_metrics, m_alerting->engine().rules());
    if (m_config.homeassistant_enabled) {
      m_discovery = std::make_unique<homeassistant::Discovery>(
          m_topics, homeassistant::Options{m_config.homeassistant_prefix,
                                           m_config.homeassistant_forget_after});
    }
    m_intake.emplace(m_topics, m_window, *m_clock, m_queue, m_metrics, m_alerting.get(),
                     m_discovery.get());
    m_reporter.emplace(m_metrics, m_counters, m_queue, m_pool_states, m_database, m_alerting.get());
    m_client = std::make_unique<mqtt::Client>(mqtt_options(), handlers());
    // Live values are published by the writers after each commit, through the client that
    // outlives them (shut_down()). A value the client refuses for now waits in the publisher
    // for the main loop's flush_due(); one it refuses for good (invalid) counts as done, so it
    // cannot block the others.
    m_live = std::make_unique<live::LivePublisher>(
        m_topics,
        [this](const std::string& topic, const std::string& payload, bool retained) {
          return m_client->publish_checked({topic, payload, 1, retained}).kind !=
                 mqtt::PublishResult::Kind::retry;
        },
        *m_clock, m_config.live_min_interval);
  }

  ~CollectorDaemon() { shut_down(); }
  CollectorDaemon(const CollectorDaemon&) = delete;
  CollectorDaemon& operator=(const CollectorDaemon&) = delete;

  // Runs until SIGTERM or SIGINT; returns the exit code.
  int run(SignalWatcher& signals) {
    start_writers();
    // Starting without the database is not failing: the worker keeps trying, the writers keep
    // their batches unacknowledged, and /readyz says "database" meanwhile.
    m_maintenance = std::make_unique<daemon::MaintenanceWorker>(m_config, *m_clock, m_database);
    if (m_config.retention_months > 0) {
      m_retention = std::make_unique<daemon::RetentionWorker>(m_config, *m_clock, m_database);
    }
    m_client->start();
    m_alert_client = m_client.get();
    if (m_alerting) m_alerting->start();
    notify::ready();
    notify::status("running");
    log::info("collector: ready subscriptions=" + std::to_string(m_subscriptions) +
              " writers=" + std::to_string(m_config.pool_size));

    // The watchdog's pings and what systemd's queue had no room for.
    notify::Notifier notifier;
    Periodic status_timer(milliseconds{10'000});
    while (true) {
      const auto now = Steady::now();
      auto next = std::min(status_timer.next(), now + milliseconds{1000});
      if (const auto due = notifier.next_due()) next = std::min(next, *due);
      const auto wait_ms =
          std::max<std::int64_t>(1, std::chrono::duration_cast<milliseconds>(next - now).count());
      const auto ev = signals.wait(static_cast<int>(wait_ms));
      if (ev == SignalEvent::stop) break;
      if (ev == SignalEvent::reload) {
        daemon::reload(m_config, {m_queue, m_writer_settings, m_metrics, m_alerting.get()});
      }
      notifier.turn();
      m_reporter->update_metrics();
      if (m_announce_online.exchange(false)) announce_online();
      m_acks.resend_unsent();
      m_live->flush_due();  // held values whose interval ended, or that the client refused
      m_intake->flush_reject_log();
      if (m_discovery) publish_discovery();
      if (status_timer.due(Steady::now())) m_reporter->report_status();
    }
    notify::stopping();
    log::info("collector: stopping pending=" + std::to_string(m_queue.pending()));
    drain(signals, notifier);
    announce_offline();
    shut_down();
    log::info("collector: stopped samples=" + std::to_string(m_counters.samples.load()) +
              " rejects=" + std::to_string(m_counters.rejects.load()));
    return 0;
  }

 private:
  using Steady = std::chrono::steady_clock;
  using milliseconds = std::chrono::milliseconds;

  mqtt::ClientOptions mqtt_options() {
    mqtt::ClientOptions o;
    o.settings = m_config.mqtt;
    o.client_id = "streamtrack-collector-" + m_config.id;
    o.clean_session = false;
    // Never started clean (clean_start_after_quick_drops stays off): the broker's queue for
    // this session holds samples that broker-mode agents have already released.
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
    h.message = [this](mqtt::Message m) { m_intake->on_message(std::move(m)); };
    return h;
  }

  void start_writers() {
    for (int i = 0; i < m_config.pool_size; ++i) {
      m_stores.push_back(std::make_unique<store::PgStore>(postgres_options(m_config, "writer"),
                                                          m_config.session_timeout));
    }
    m_pool_states = std::vector<std::atomic<int>>(m_stores.size());
    for (std::size_t i = 0; i < m_stores.size(); ++i) {
      m_writers.emplace_back([this, i] {
        daemon::InstrumentedStore store(*m_stores[i], m_metrics, m_write_timer, m_pool_states[i],
                                        m_database, i);
        live::LivePublishingStore announced(store, *m_live);
        std::optional<homeassistant::DiscoveryStore> discovered;
        if (m_discovery) discovered.emplace(announced, *m_discovery, *m_clock);
        store::Store& top = discovered ? static_cast<store::Store&>(*discovered) : announced;
        batch::BatchWriter writer(
            top,
            [this](const std::string& agent, const std::vector<std::int64_t>& seqs) {
              m_acks.send(agent, seqs);
            },
            m_counters);
        writer.run(m_queue, m_writer_settings, m_abandon);
      });
    }
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

  // Writes what is queued (for at most shutdown_timeout) while the broker connection still
  // carries its acks.
  void drain(SignalWatcher& signals, notify::Notifier& notifier) {
    if (m_alerting) m_alerting->stop();
    m_alert_client = nullptr;
    m_queue.close();
    const auto deadline = Steady::now() + m_config.shutdown_timeout;
    while (m_queue.pending() > 0 && Steady::now() < deadline) {
      notifier.turn();
      signals.wait(20);
    }
  }

  // Idempotent: writers first (they acknowledge through the client), then the client, then
  // the maintenance workers.
  void shut_down() {
    if (m_alerting) m_alerting->stop();
    m_alert_client = nullptr;
    m_queue.close();
    m_abandon = true;
    for (auto& w : m_writers) {
      if (w.joinable()) w.join();
    }
    if (m_client) {
      // Acks first: agents keep (and resend) every sample until it is acknowledged, so they
      // must not wait behind live values for the client's queue; a live value is only the
      // newest figures of a channel.
      m_acks.resend_unsent();           // a last try for acks the client refused
      if (m_live) m_live->flush_all();  // the values held back by [live] min_interval
      m_client->stop(milliseconds{2000});
    }
    if (m_retention) m_retention->stop();
    if (m_maintenance) m_maintenance->stop();
  }

  CollectorConfig m_config;
  std::unique_ptr<Clock> m_clock;
  status::CollectorMetrics m_metrics;
  daemon::DatabaseHealth m_database{m_metrics};
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
  std::size_t m_subscriptions = 0;
  // Alerts publish through the client from their own thread, and are stopped before it.
  std::atomic<mqtt::Client*> m_alert_client{nullptr};
  alerts::WriteTimer m_write_timer;
  std::unique_ptr<alerts::AlertService> m_alerting;
  std::unique_ptr<homeassistant::Discovery> m_discovery;  // before the client that feeds it
  std::vector<std::atomic<int>> m_pool_states;            // a daemon::PoolState per writer
  std::optional<daemon::Intake> m_intake;                 // before the client that feeds it
  std::optional<daemon::StatusReporter> m_reporter;
  std::unique_ptr<mqtt::Client> m_client;
  // On a writer thread after a commit, and from the main loop; through the client, which
  // outlives the writers (shut_down()).
  daemon::AckSender m_acks{m_topics,
                           [this](const std::string& topic, const std::string& payload) {
                             return m_client->publish({topic, payload, 1, false}).has_value();
                           },
                           m_metrics};
  std::unique_ptr<live::LivePublisher> m_live;
  std::vector<std::unique_ptr<store::PgStore>> m_stores;
  std::vector<std::thread> m_writers;
  std::unique_ptr<daemon::MaintenanceWorker> m_maintenance;
  std::unique_ptr<daemon::RetentionWorker> m_retention;
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
    daemon::log_partitions(
        partitions::maintain_partitions(conn, clock->now(), daemon::partition_options(config)));
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
  // Blocks from 128 KiB up (a batch's reject arrays, a huge message Paho delivers whole) are
  // mapped and go back to the system when freed. By default glibc raises this threshold to the
  // largest block freed, and each writer thread's arena then kept such blocks resident: a
  // flood of rejects left megabytes behind (AdversarialIT's second pass).
  ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  CollectorDaemon daemon(std::move(config));
  return daemon.run(signals);
}

}  // namespace streamtrack::collector
