#include <malloc.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <memory>

#include "agent/app.hpp"
#include "agent/daemon/ack_receiver.hpp"
#include "agent/daemon/client_events.hpp"
#include "agent/daemon/heap_trim.hpp"
#include "agent/daemon/outbox_writer.hpp"
#include "agent/daemon/publish_wiring.hpp"
#include "agent/engine/poll_engine.hpp"
#include "agent/outbox/outbox.hpp"
#include "agent/publish/publisher.hpp"
#include "common/daemon/log.hpp"
#include "common/daemon/notify.hpp"
#include "common/daemon/periodic.hpp"
#include "common/daemon/signals.hpp"
#include "common/mqtt/loop_client.hpp"
#include "common/status/status_server.hpp"
#include "common/version.hpp"
#include "common/wire/codec.hpp"
#include "common/wire/topics.hpp"

namespace streamtrack::agent {

namespace {

using Steady = std::chrono::steady_clock;
using Event = ClientEvent;
using std::chrono::milliseconds;

// /readyz fails when no poll of any source succeeded for three of the longest intervals
// (at least a minute): long enough to ride out the backoff of a flaky endpoint.
streamtrack::status::Seconds poll_age_limit(const AgentConfig& config) {
  milliseconds longest{0};
  for (const auto& s : config.sources) longest = std::max(longest, s.interval);
  return std::chrono::duration_cast<streamtrack::status::Seconds>(
      std::max(milliseconds{60'000}, 3 * longest));
}

class Daemon {
 public:
  explicit Daemon(AgentConfig config)
      : m_config(std::move(config)),
        m_topics(m_config.mqtt.topic_prefix),
        m_outbox(outbox::outbox_path(m_config), outbox::outbox_options(m_config)),
        m_rows(m_outbox),
        m_engine(std::make_unique<PollEngine>(m_config, SystemClock::instance())),
        m_client(client_options(m_config, m_topics), handlers()),
        m_transport(m_client),
        m_publisher(publisher_options(m_config), m_rows, m_transport),
        m_writer(m_outbox, m_config, m_metrics),
        m_acks(m_config, m_topics, m_publisher, m_rows, m_metrics),
        m_health_timer(m_config.health_interval, Steady::now() + m_config.health_interval),
        m_status_timer(milliseconds{5000}, Steady::now()),
        m_heap_trim(milliseconds{1000}, milliseconds{5000}, Steady::now()) {}

  int run() {
    m_started_at = SystemClock::instance().now();
    const auto stats = m_outbox.stats();
    log::info("agent: starting id=" + log::quote(m_config.id) + " version=" + k_version +
              " sources=" + std::to_string(m_config.sources.size()) + " outbox=" +
              log::quote(m_outbox.path().string()) + " depth=" + std::to_string(stats.depth) +
              " last_seq=" + std::to_string(stats.last_seq) +
              " delivery=" + (m_config.delivery == Delivery::broker ? "broker" : "committed"));
    m_status_server = streamtrack::status::start_status_server(m_config.http_listen, m_metrics);
    if (m_status_server) {
      m_status_server->add_check("outbox", [this] {
        return streamtrack::status::CheckResult{
            !m_writer.write_failing(), m_writer.write_failing() ? "writes failing" : "writable"};
      });
      m_status_server->add_check("broker", [this] {
        const bool up = m_client.connected();
        return streamtrack::status::CheckResult{up, up ? "connected" : "not connected"};
      });
      if (m_config.delivery == Delivery::committed) {
        m_status_server->add_check("acks", [this] { return m_acks.check(); });
      }
      m_status_server->add_check(
          "last_poll",
          streamtrack::status::max_age_check(
              [this] { return m_metrics.last_successful_poll_age(); }, poll_age_limit(m_config)));
    }
    m_client.start();
    notify::ready();
    log::info("agent: ready server=" + m_client.server());

    bool pumped = false;
    while (true) {
      const auto now = Steady::now();
      // No wake-up without something due: a poll (the engine), a timer, the watchdog, the MQTT
      // connection's keepalive or reconnect, the outbox writer, the publisher's ack timeouts,
      // a notification to resend, or a signal (its fd).
      auto next = std::min(m_health_timer.next(), m_status_timer.next());
      if (const auto due = m_notifier.next_due()) next = std::min(next, *due);
      if (const auto due = m_writer.next_due()) next = std::min(next, *due);
      if (const auto due = m_publisher.next_due()) next = std::min(next, *due);
      const auto mqtt = m_client.wait();
      next = std::min(next, mqtt.until);
      if (pumped && m_publisher.has_work(m_connected)) next = now;
      const auto wait =
          std::max(milliseconds{0}, std::chrono::duration_cast<milliseconds>(next - now));
      // What the broker sends (PUBACKs, acks, PINGRESP) wakes the loop, and service() reads
      // all of it at once: a backlog left for later turns could outlast the keepalive.
      std::array<http::WaitFd, 2> fds{http::WaitFd{m_signals.fd()},
                                      http::WaitFd{mqtt.fd, mqtt.write}};
      auto batches = m_engine->step(wait, fds);
      // The MQTT connection: what arrived (PUBACKs, acks; read only when the wait saw it),
      // keepalive, reconnects; its handlers queue events into m_events, taken below.
      m_client.service(fds[1].ready);
      for (const auto& r : m_engine->take_reports()) {
        m_heap_trim.polls_finished();
        m_metrics.poll_finished(
            r.source, r.type, r.ok ? Outcome::ok : Outcome::error,
            std::chrono::duration_cast<streamtrack::status::Seconds>(r.duration), r.samples);
        if (r.rejected > 0) {
          m_metrics.count_samples_rejected(r.source, static_cast<std::int64_t>(r.rejected));
        }
      }
      // Group commit: polls that finish close together go into one outbox transaction.
      for (auto& batch : batches) m_writer.add(std::move(batch));
      m_writer.store_if_due(m_engine->requests_in_flight() > 0);

      bool stop = false;
      while (const auto ev = fds[0].ready ? m_signals.poll() : std::nullopt) {
        if (*ev == SignalEvent::stop) stop = true;
        if (*ev == SignalEvent::reload) reload();
      }
      if (stop) break;

      handle_events();
      pumped = m_publisher.pump(Steady::now(), m_connected) > 0;
      m_notifier.turn();
      const auto t = Steady::now();
      if (m_health_timer.due(t)) publish_health();
      if (m_status_timer.due(t)) report_status();
      // Give the pages that freed allocations left inside the heap back to the system.
      if (m_heap_trim.due(t, m_engine->requests_in_flight() == 0)) ::malloc_trim(0);
    }
    return shutdown();
  }

 private:
  // The client runs these inside service() and stop(), on this thread: they only queue.
  mqtt::Handlers handlers() {
    mqtt::Handlers h;
    h.connected = [this] { push(Event{Event::Kind::connected, 0, false, {}}); };
    h.disconnected = [this](const std::string& reason) {
      push({Event::Kind::disconnected, 0, false, reason});
    };
    h.delivered = [this](std::uint64_t id, bool ok, const std::string& error) {
      push({Event::Kind::delivered, id, ok, error});
    };
    h.message = [this](mqtt::Message m) {
      push({Event::Kind::message, 0, false, std::move(m.payload), std::move(m.topic), m.retained});
    };
    h.refused = [this](std::uint64_t id, const std::string& reason) {
      push({Event::Kind::refused, id, false, reason});
    };
    h.subscribed = [this](const std::string& filter, bool ok, const std::string& reason) {
      push({Event::Kind::subscribed, 0, ok, reason, filter});
    };
    h.collision = [this](const std::string& evidence) {
      push({Event::Kind::collision, 0, false, evidence});
    };
    return h;
  }

  void push(Event e) { m_events.push(std::move(e)); }

  // Waits up to `timeout` for the MQTT connection to have something, and lets it act.
  void wait_for_client(milliseconds timeout) {
    const auto w = m_client.wait();
    pollfd p{w.fd, static_cast<short>(POLLIN | (w.write ? POLLOUT : 0)), 0};
    const auto until = std::chrono::duration_cast<milliseconds>(w.until - Steady::now());
    ::poll(&p, 1, static_cast<int>(std::clamp(std::min(timeout, until).count(), 0L, 1000L)));
    m_client.service();
  }

  void handle_events() {
    const auto now = Steady::now();
    for (auto& e : m_events.take()) {
      switch (e.kind) {
        case Event::Kind::connected:
          on_connected();
          break;
        case Event::Kind::disconnected:
          if (m_connected) {
            log::warning("mqtt: disconnected reason=" + log::quote(e.text) +
                         " inflight=" + std::to_string(m_publisher.figures().inflight) +
                         " last_seq=" + std::to_string(m_outbox.last_seq()));
          } else {
            log::info("mqtt: connect failed reason=" + log::quote(e.text));
          }
          m_connected = false;
          m_metrics.set_mqtt_connected(false);
          break;
        case Event::Kind::delivered:
          if (!e.ok) {
            m_metrics.count_publish_failures(1);
            log::debug("mqtt: publish failed id=" + std::to_string(e.id) +
                       " error=" + log::quote(e.text));
          }
          if (m_publisher.on_delivered(e.id, e.ok, now) && e.ok) m_acks.on_puback(now);
          break;
        case Event::Kind::refused:
          m_metrics.count_publish_failures(1);
          m_publisher.on_refused(e.id, e.text);
          break;
        case Event::Kind::message:
          m_acks.on_message(e);
          break;
        case Event::Kind::subscribed:
          m_acks.on_subscribed(e.ok, e.topic, e.text);
          break;
        case Event::Kind::collision:
          m_metrics.count_identity_conflict("client_id");
          // Another agent with this id publishes the same seqs: an ack for seq N may be for
          // its sample N, which the collector stored instead of ours.
          m_acks.on_collision(now, 2 * m_client.stable_after());
          break;
      }
    }
    m_writer.remove_delivered(m_publisher, false);
  }

  void on_connected() {
    m_connected = true;
    m_metrics.set_mqtt_connected(true);
    m_metrics.count_mqtt_connect();
    m_publisher.on_connected();
    wire::Status birth{.state = "online",
                       .version = std::string(k_version),
                       .started_at = m_started_at,
                       .sources = static_cast<std::int64_t>(m_config.sources.size()),
                       .ts = SystemClock::instance().now()};
    m_client.publish({m_topics.status(m_config.id), wire::encode_status(birth), 1, true});
    const auto first = m_outbox.first_seq();
    log::info("mqtt: connected server=" + m_client.server() +
              " backlog=" + std::to_string(m_outbox.depth()) +
              " backlog_first=" + std::to_string(first.value_or(0)) +
              " live_from=" + std::to_string(m_outbox.last_seq() + 1));
  }

  void publish_health() {
    const auto s = m_outbox.stats();
    const auto now = SystemClock::instance().now();
    wire::Health h;
    h.ts = now;
    h.buffer_depth = s.depth;
    h.buffer_bytes = s.bytes;
    if (s.oldest_ts) {
      h.oldest_unsent_age_s = std::chrono::duration<double>(now - *s.oldest_ts).count();
    }
    h.dropped = s.dropped() + m_writer.unsaved_dropped();
    h.last_seq = s.last_seq;
    h.sources = m_engine->health();
    if (m_connected) {
      m_client.publish({m_topics.health(m_config.id), wire::encode_health(h), 1, false});
    }
  }

  void report_status() {
    const auto f = m_publisher.figures();
    const auto s = m_outbox.stats();
    std::string text = std::string(m_connected ? "connected" : "broker unreachable") + ", outbox " +
                       std::to_string(s.depth) + " unsent, " + std::to_string(f.inflight) +
                       " in flight, " + std::to_string(s.dropped()) + " dropped, last seq " +
                       std::to_string(s.last_seq);
    if (m_writer.write_failing())
      text += ", OUTBOX WRITES FAILING (" + std::to_string(m_writer.unsaved()) + " in memory)";
    notify::status(text);
    m_metrics.set_publish_inflight(static_cast<std::int64_t>(f.inflight));
    m_metrics.count_published(f.published - m_reported_published);
    m_reported_published = f.published;
    m_metrics.count_quarantined(f.quarantined - m_reported_quarantined);
    m_reported_quarantined = f.quarantined;
  }

  void reload() {
    notify::reloading();
    try {
      auto fresh = load_agent_config(m_config.path);
      auto engine = std::make_unique<PollEngine>(fresh, SystemClock::instance());
      log::set_level(fresh.log_level);
      log::set_format(fresh.log_format);
      m_outbox.set_limits(outbox::outbox_options(fresh).limits);
      m_health_timer.set_every(fresh.health_interval);
      m_engine = std::move(engine);
      m_config.sources = fresh.sources;
      m_config.document = fresh.document;
      m_config.buffer_max_rows = fresh.buffer_max_rows;
      m_config.buffer_max_bytes = fresh.buffer_max_bytes;
      m_config.buffer_policy = fresh.buffer_policy;
      m_config.health_interval = fresh.health_interval;
      m_config.log_level = fresh.log_level;
      m_config.log_format = fresh.log_format;
      log::notice("agent: reloaded files=" + std::to_string(fresh.files.size()) +
                  " sources=" + std::to_string(m_config.sources.size()) + " (the outbox is kept)");
      warn_restart_only(
          config::restart_only_changes(agent_root_spec(), *m_start_document, *fresh.document));
    } catch (const config::ConfigError& e) {
      for (const auto& m : e.messages()) log::error("agent: reload refused: " + m);
    } catch (const std::exception& e) {
      log::error("agent: reload refused: " + std::string(e.what()));
    }
    notify::ready();
  }

  static void warn_restart_only(const std::vector<std::string>& keys) {
    if (keys.empty()) return;
    std::string list;
    for (const auto& k : keys) list += (list.empty() ? "" : ",") + k;
    log::warning("agent: changed settings apply on restart keys=" + list);
  }

  int shutdown() {
    notify::stopping();
    const auto deadline = Steady::now() + m_config.shutdown_timeout;
    log::info("agent: stopping, flushing for at most timeout_ms=" +
              std::to_string(m_config.shutdown_timeout.count()));
    m_writer.store_now();
    while (Steady::now() < deadline) {
      handle_events();
      m_publisher.pump(Steady::now(), m_connected);
      const auto f = m_publisher.figures();
      const bool flushed = f.inflight == 0 && !m_publisher.has_work(m_connected) &&
                           (m_config.delivery == Delivery::broker || f.unacked == 0);
      if (flushed || !m_connected) break;
      m_notifier.turn();  // a STOPPING=1 that found systemd's queue full, the watchdog
      wait_for_client(std::min(milliseconds{100},
                               std::chrono::duration_cast<milliseconds>(deadline - Steady::now())));
    }
    handle_events();
    m_writer.remove_delivered(m_publisher, true);
    const auto left = std::max(milliseconds{100},
                               std::chrono::duration_cast<milliseconds>(deadline - Steady::now()));
    const wire::Status offline{
        .state = "offline", .reason = std::string("shutdown"), .ts = SystemClock::instance().now()};
    m_client.stop(
        left, mqtt::Message{m_topics.status(m_config.id), wire::encode_status(offline), 1, true});
    handle_events();
    m_writer.remove_delivered(m_publisher, true);
    m_writer.store_now();
    m_writer.give_up_unsaved();
    log::info("agent: stopped unsent=" + std::to_string(m_outbox.depth()) +
              " last_seq=" + std::to_string(m_outbox.last_seq()) +
              " unsaved=" + std::to_string(m_writer.unsaved()) +
              " published=" + std::to_string(m_publisher.figures().published) +
              " frames=" + std::to_string(m_publisher.figures().frames) +
              " framed=" + std::to_string(m_publisher.figures().framed));
    return 0;
  }

  SignalWatcher m_signals;  // first: blocks the signals before any thread starts
  AgentConfig m_config;
  wire::Topics m_topics;
  streamtrack::status::AgentMetrics m_metrics;
  ClientEventQueue m_events;
  outbox::Outbox m_outbox;
  OutboxRows m_rows;
  std::unique_ptr<PollEngine> m_engine;
  mqtt::LoopClient m_client;
  ClientTransport m_transport;
  publish::Publisher m_publisher;
  OutboxWriter m_writer;
  // Read by the status server's threads: declared before it, so destroyed after it.
  AckReceiver m_acks;
  Periodic m_health_timer;
  Periodic m_status_timer;
  HeapTrimSchedule m_heap_trim;
  notify::Notifier m_notifier;  // the watchdog's pings and what systemd's queue had no room for
  std::unique_ptr<streamtrack::status::StatusServer> m_status_server;
  TimePoint m_started_at{};
  // The configuration the process started with: what restart-only keys are compared against.
  std::shared_ptr<const toml::table> m_start_document = m_config.document;
  bool m_connected = false;
  std::int64_t m_reported_published = 0;
  std::int64_t m_reported_quarantined = 0;
};

}  // namespace

int run_daemon(AgentConfig config) {
  log::set_level(config.log_level);
  log::set_format(config.log_format);
  // One malloc arena for every thread (the status server's included): the loop thread does
  // nearly all the work, and each extra arena keeps its own free pages resident.
  ::mallopt(M_ARENA_MAX, 1);
  Daemon daemon(std::move(config));
  return daemon.run();
}

}  // namespace streamtrack::agent
