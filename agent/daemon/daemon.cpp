#include <malloc.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "agent/app.hpp"
#include "agent/engine/poll_engine.hpp"
#include "agent/outbox/memory_fallback.hpp"
#include "agent/outbox/outbox.hpp"
#include "agent/publish/publisher.hpp"
#include "common/daemon/log.hpp"
#include "common/daemon/notify.hpp"
#include "common/daemon/signals.hpp"
#include "common/http/status_server.hpp"
#include "common/mqtt/client.hpp"
#include "common/util/backoff.hpp"
#include "common/version.hpp"
#include "common/wire/codec.hpp"
#include "common/wire/topics.hpp"

namespace streamtrack::agent {

namespace {

using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

// What Paho's threads hand to the main loop.
struct Event {
  enum class Kind { connected, disconnected, delivered, refused, message, subscribed, collision };
  Kind kind;
  std::uint64_t id = 0;
  bool ok = false;
  std::string text{};   // reason, error, or a message's payload
  std::string topic{};  // message, subscribed (the filter)
  bool retained = false;
};

class EventQueue {
 public:
  void push(Event e) {
    {
      std::lock_guard lock(m_mutex);
      m_events.push_back(std::move(e));
    }
    m_cv.notify_all();
  }
  std::deque<Event> take() {
    std::lock_guard lock(m_mutex);
    return std::exchange(m_events, {});
  }
  void wait_for(milliseconds timeout) {
    std::unique_lock lock(m_mutex);
    m_cv.wait_for(lock, timeout, [this] { return !m_events.empty(); });
  }

 private:
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<Event> m_events;
};

// Wakes the main loop from Paho's threads: passed to PollEngine::step as an extra fd, so it
// works across engine swaps on reload.
class Wakeup {
 public:
  Wakeup() : m_fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (m_fd < 0) throw std::runtime_error("eventfd failed");
  }
  ~Wakeup() { ::close(m_fd); }
  Wakeup(const Wakeup&) = delete;
  Wakeup& operator=(const Wakeup&) = delete;
  int fd() const { return m_fd; }
  void signal() {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(m_fd, &one, sizeof one);
  }
  void clear() {
    std::uint64_t value = 0;
    [[maybe_unused]] const auto n = ::read(m_fd, &value, sizeof value);
  }

 private:
  int m_fd;
};

class OutboxRows final : public publish::RowSource {
 public:
  explicit OutboxRows(outbox::Outbox& outbox) : m_outbox(outbox) {}
  Result<std::vector<outbox::Row>> read(std::int64_t from, std::int64_t before,
                                        std::size_t limit) override {
    return m_outbox.read(from, before, limit);
  }
  std::int64_t last_seq() const override { return m_outbox.last_seq(); }
  bool quarantine(std::int64_t seq, const std::string& reason) override {
    return m_outbox.quarantine(seq, reason);
  }

 private:
  outbox::Outbox& m_outbox;
};

class ClientTransport final : public publish::Transport {
 public:
  explicit ClientTransport(mqtt::Client& client) : m_client(client) {}
  mqtt::PublishResult publish(const mqtt::Message& message) override {
    return m_client.publish_checked(message);
  }

 private:
  mqtt::Client& m_client;
};

class Periodic {
 public:
  explicit Periodic(milliseconds every, Steady::time_point first = Steady::now())
      : m_every(every), m_next(first) {}
  bool due(Steady::time_point now) {
    if (now < m_next) return false;
    m_next = now + m_every;
    return true;
  }
  Steady::time_point next() const { return m_next; }
  void set_every(milliseconds every) { m_every = every; }

 private:
  milliseconds m_every;
  Steady::time_point m_next;
};

// Sorted, with overlapping and adjacent inclusive ranges joined.
std::vector<std::pair<std::int64_t, std::int64_t>> merge_ranges(
    std::vector<std::pair<std::int64_t, std::int64_t>> ranges) {
  std::sort(ranges.begin(), ranges.end());
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  for (const auto& r : ranges) {
    if (!out.empty() && r.first <= out.back().second + 1) {
      out.back().second = std::max(out.back().second, r.second);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

const char* policy_name(DropPolicy p) {
  return p == DropPolicy::drop_newest ? "drop_newest" : "drop_oldest";
}

// /readyz fails when no poll of any source succeeded for three of the longest intervals
// (at least a minute): long enough to ride out the backoff of a flaky endpoint.
streamtrack::http::Seconds poll_age_limit(const AgentConfig& config) {
  milliseconds longest{0};
  for (const auto& s : config.sources) longest = std::max(longest, s.interval);
  return std::chrono::duration_cast<streamtrack::http::Seconds>(
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
        m_client(client_options(), handlers()),
        m_transport(m_client),
        m_publisher(publisher_options(), m_rows, m_transport),
        m_write_backoff(milliseconds{500}, milliseconds{30'000}),
        m_health_timer(m_config.health_interval, Steady::now() + m_config.health_interval),
        m_status_timer(milliseconds{5000}) {}

  int run() {
    m_started_at = SystemClock::instance().now();
    const auto stats = m_outbox.stats();
    log::info("agent: starting id=" + log::quote(m_config.id) + " version=" + k_version +
              " sources=" + std::to_string(m_config.sources.size()) + " outbox=" +
              log::quote(m_outbox.path().string()) + " depth=" + std::to_string(stats.depth) +
              " last_seq=" + std::to_string(stats.last_seq) +
              " delivery=" + (m_config.delivery == Delivery::broker ? "broker" : "committed"));
    m_status_server = streamtrack::http::start_status_server(m_config.http_listen, m_metrics);
    if (m_status_server) {
      m_status_server->add_check("outbox", [this] {
        return streamtrack::http::CheckResult{
            !m_write_failing.load(), m_write_failing.load() ? "writes failing" : "writable"};
      });
      m_status_server->add_check("broker", [this] {
        const bool up = m_client.connected();
        return streamtrack::http::CheckResult{up, up ? "connected" : "not connected"};
      });
      if (m_config.delivery == Delivery::committed) {
        m_status_server->add_check("acks", [this] { return acks_check(); });
      }
      m_status_server->add_check(
          "last_poll",
          streamtrack::http::max_age_check([this] { return m_metrics.last_successful_poll_age(); },
                                           poll_age_limit(m_config)));
    }
    m_client.start();
    notify::ready();
    log::info("agent: ready server=" + m_client.server());

    notify::WatchdogPinger watchdog;
    bool pumped = false;
    while (true) {
      const auto now = Steady::now();
      auto next =
          std::min({m_health_timer.next(), m_status_timer.next(), now + milliseconds{1000}});
      if (!m_unsaved.empty()) next = std::min(next, m_next_write_retry);
      if (!m_done.empty()) next = std::min(next, m_done_since + k_delete_delay);
      if (!m_finished.empty()) next = std::min(next, m_finished_since + k_group_commit_delay);
      if (pumped && m_publisher.has_work(m_connected)) next = now;
      const auto wait =
          std::max(milliseconds{0}, std::chrono::duration_cast<milliseconds>(next - now));
      const std::array<int, 2> fds{m_signals.fd(), m_wakeup.fd()};
      auto batches = m_engine->step(wait, fds);
      m_wakeup.clear();
      for (const auto& r : m_engine->take_reports()) {
        m_metrics.poll_finished(
            r.source, r.type,
            r.ok ? streamtrack::http::Outcome::ok : streamtrack::http::Outcome::error,
            std::chrono::duration_cast<streamtrack::http::Seconds>(r.duration), r.samples);
        if (r.rejected > 0) {
          m_metrics.count_samples_rejected(r.source, static_cast<std::int64_t>(r.rejected));
        }
      }
      // Group commit: polls that finish close together go into one outbox transaction.
      for (auto& batch : batches) {
        if (m_finished.empty()) m_finished_since = Steady::now();
        std::move(batch.begin(), batch.end(), std::back_inserter(m_finished));
      }
      if (!m_finished.empty() && (m_engine->requests_in_flight() == 0 ||
                                  Steady::now() >= m_finished_since + k_group_commit_delay)) {
        store(std::exchange(m_finished, {}));
      }
      if (!m_unsaved.empty() && Steady::now() >= m_next_write_retry) retry_unsaved();

      bool stop = false;
      while (const auto ev = m_signals.poll()) {
        if (*ev == SignalEvent::stop) stop = true;
        if (*ev == SignalEvent::reload) reload();
      }
      if (stop) break;

      handle_events();
      pumped = m_publisher.pump(Steady::now(), m_connected) > 0;
      m_wake_on_delivery.store(m_publisher.window_half_full(), std::memory_order_relaxed);
      watchdog.maybe_ping();
      const auto t = Steady::now();
      if (m_health_timer.due(t)) publish_health();
      if (m_status_timer.due(t)) {
        report_status();
        // Give the pages that freed allocations left inside the heap back to the system.
        ::malloc_trim(0);
      }
    }
    return shutdown();
  }

 private:
  mqtt::ClientOptions client_options() const {
    mqtt::ClientOptions o;
    o.settings = m_config.mqtt;
    o.client_id = m_config.id;
    o.clean_session = false;
    o.will = mqtt::Message{m_topics.status(m_config.id),
                           wire::encode_status(wire::Status{.state = "offline"}), 1, true};
    o.max_inflight = m_config.max_inflight;
    if (m_config.delivery == Delivery::committed) o.subscriptions = {m_topics.ack(m_config.id)};
    return o;
  }

  mqtt::Handlers handlers() {
    mqtt::Handlers h;
    h.connected = [this] { push(Event{Event::Kind::connected, 0, false, {}}); };
    h.disconnected = [this](const std::string& reason) {
      push({Event::Kind::disconnected, 0, false, reason});
    };
    h.delivered = [this](std::uint64_t id, bool ok, const std::string& error) {
      // A PUBACK needs the loop at once only when the window is nearly full or a delivery
      // failed; otherwise the next turn (a poll, a timer, at most a second) takes it along.
      Event e{Event::Kind::delivered, id, ok, error};
      if (ok && !m_wake_on_delivery.load(std::memory_order_relaxed)) {
        m_events.push(std::move(e));
      } else {
        push(std::move(e));
      }
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

  publish::Options publisher_options() const {
    publish::Options o;
    o.max_inflight = static_cast<std::size_t>(m_config.max_inflight);
    o.delivery = m_config.delivery;
    o.ack_timeout = m_config.ack_timeout;
    o.agent = m_config.id;
    o.frame_topic = m_topics.frames(m_config.id);
    o.max_frame_samples = m_config.max_frame_samples;
    o.max_frame_bytes = m_config.max_frame_bytes;
    return o;
  }

  void push(Event e) {
    m_events.push(std::move(e));
    m_wakeup.signal();
  }

  outbox::MemoryFallback::Limits fallback_limits() const {
    return {m_config.buffer_max_rows, m_config.buffer_max_bytes, m_config.buffer_policy};
  }

  void store(std::vector<Sample> batch) {
    if (!m_unsaved.empty()) {
      keep_in_memory(std::move(batch));
      return;
    }
    auto result = m_outbox.append(batch, m_unsaved.dropped());
    if (!result) {
      write_failed(result.error());
      keep_in_memory(std::move(batch));
      return;
    }
    m_unsaved.take_dropped();
    stored(*result);
  }

  void keep_in_memory(std::vector<Sample> batch) {
    const auto dropped = m_unsaved.keep(std::move(batch), fallback_limits());
    if (dropped == 0) return;
    m_metrics.count_outbox_drops(policy_name(m_config.buffer_policy), dropped);
    log::warning("outbox: unsaved samples over the limits, dropped samples count=" +
                 std::to_string(dropped) + " policy=" + policy_name(m_config.buffer_policy) +
                 " in_memory=" + std::to_string(m_unsaved.count()) +
                 " bytes=" + std::to_string(m_unsaved.bytes()));
  }

  void stored(const outbox::AppendReport& r) {
    const auto dropped = r.dropped_newest + r.dropped_oldest;
    if (dropped > 0) {
      const auto policy = r.dropped_newest > 0 ? DropPolicy::drop_newest : DropPolicy::drop_oldest;
      m_metrics.count_outbox_drops(policy_name(policy), dropped);
      log::warning("outbox: full, dropped samples count=" + std::to_string(dropped) + " policy=" +
                   policy_name(policy) + " total=" + std::to_string(m_outbox.stats().dropped()) +
                   " depth=" + std::to_string(m_outbox.depth()));
    }
    m_metrics.set_outbox(m_outbox.depth(), m_outbox.bytes());
    log::debug("outbox: stored count=" + std::to_string(r.stored) +
               " last_seq=" + std::to_string(r.last_seq));
  }

  void write_failed(const std::string& error) {
    if (!m_write_failing) {
      log::error("outbox: write failed, keeping samples in memory and retrying error=" +
                 log::quote(error));
    }
    m_write_failing = true;
    m_next_write_retry = Steady::now() + m_write_backoff.next_delay();
  }

  void retry_unsaved() {
    std::int64_t written = 0;
    while (!m_unsaved.empty()) {
      auto result = m_outbox.append(m_unsaved.front(), m_unsaved.dropped());
      if (!result) {
        write_failed(result.error());
        return;
      }
      m_unsaved.take_dropped();
      written += result->stored;
      stored(*result);
      m_unsaved.pop();
    }
    m_write_failing = false;
    m_write_backoff.reset();
    log::notice("outbox: writes recovered stored=" + std::to_string(written));
  }

  // Fails when the broker refused the ack subscription, or when no ack came for ack_timeout
  // after a PUBACK: the collector is down, or the broker does not deliver the ack topic to
  // this agent (an ACL that filters instead of refusing, as Mosquitto 2.0's acl_file does).
  streamtrack::http::CheckResult acks_check() const {
    {
      std::lock_guard lock(m_ack_subscription_mutex);
      if (!m_ack_subscription.ok) return m_ack_subscription;
    }
    const auto since = m_waiting_for_ack_since_ns.load();
    if (since != 0) {
      const auto waited = Steady::now().time_since_epoch() - std::chrono::nanoseconds{since};
      if (waited > m_config.ack_timeout) {
        return {false, "no ack for " +
                           std::to_string(std::chrono::duration_cast<milliseconds>(waited).count() /
                                          1000) +
                           "s after the broker took samples: is a collector running, and may "
                           "this agent read " +
                           m_topics.ack(m_config.id) + " (broker ACL)?"};
      }
    }
    return {true, "acks arriving"};
  }

  void set_ack_subscription(bool ok, std::string detail) {
    std::lock_guard lock(m_ack_subscription_mutex);
    m_ack_subscription = streamtrack::http::CheckResult{ok, std::move(detail)};
  }

  // An ack is evidence, not an order: checked against what this agent published and holds.
  void on_ack_message(const Event& e) {
    const auto ignore = [this](std::string_view reason, std::int64_t seqs,
                               const std::string& detail) {
      m_metrics.count_acks_ignored(reason, seqs);
      log::warning("ack: ignored seqs=" + std::to_string(seqs) + " reason=" + std::string(reason) +
                   (detail.empty() ? std::string() : " " + detail));
    };
    const auto expected = m_topics.ack(m_config.id);
    auto ack = wire::decode_ack(e.text);
    if (!ack) {
      ignore("malformed", 1, "error=" + log::quote(ack.error()));  // one message
      return;
    }
    std::int64_t named = 0;
    for (const auto& [first, last] : ack->ranges) named += last - first + 1;
    if (e.topic != expected) {
      ignore("wrong_topic", named, "topic=" + log::quote(e.topic));
      return;
    }
    if (Steady::now() < m_identity_conflict_until) {
      ignore("identity_conflict", named, "(another agent appears to use this id)");
      return;
    }
    if (e.retained) {
      // A collector never retains acks: this one was left on the broker by someone else, or
      // by an earlier life of the agent's peer, and says nothing about what we hold now.
      ignore("retained", named, "(clear it with an empty retained message on " + expected + ")");
      return;
    }
    const auto report = m_publisher.on_ack(*ack);
    if (report.beyond_last_seq == 0) m_waiting_for_ack_since_ns = 0;  // a collector answers
    const auto last = "last_seq=" + std::to_string(m_outbox.last_seq());
    if (report.beyond_last_seq > 0) {
      ignore("beyond_last_seq", report.beyond_last_seq, last);
      m_metrics.count_identity_conflict("ack");
      log::error("agent: another agent may be using id=" + log::quote(m_config.id) +
                 ": an ack names seqs this agent never gave out " + last +
                 " (or someone forges acks; check the broker ACL)");
    }
    if (report.not_published > 0) ignore("not_published", report.not_published, last);
    if (report.already_done > 0) {
      m_metrics.count_acks_ignored("already_done", report.already_done);
      log::debug("ack: ignored seqs=" + std::to_string(report.already_done) +
                 " reason=already_done");
    }
    if (report.applied > 0) log::debug("ack: applied seqs=" + std::to_string(report.applied));
    if (report.applied > 0 && !m_first_ack_logged) {
      m_first_ack_logged = true;
      log::info("ack: applied seqs=" + std::to_string(report.applied) +
                " (the first ack of this run; later ones are logged at debug level)");
    }
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
          if (m_publisher.on_delivered(e.id, e.ok, now) && e.ok &&
              m_config.delivery == Delivery::committed && m_waiting_for_ack_since_ns.load() == 0) {
            m_waiting_for_ack_since_ns = now.time_since_epoch().count();
          }
          break;
        case Event::Kind::refused:
          m_metrics.count_publish_failures(1);
          m_publisher.on_refused(e.id, e.text);
          break;
        case Event::Kind::message:
          on_ack_message(e);
          break;
        case Event::Kind::subscribed:
          if (e.ok) {
            set_ack_subscription(true, "subscribed to " + e.topic);
          } else {
            set_ack_subscription(false, "subscription to " + e.topic + " " + e.text +
                                            ": samples are resent and never removed");
          }
          break;
        case Event::Kind::collision:
          m_metrics.count_identity_conflict("client_id");
          // Another agent with this id publishes the same seqs: an ack for seq N may be for
          // its sample N, which the collector stored instead of ours. Apply no acks while
          // the conflict lasts; our samples stay and are sent again.
          if (m_config.delivery == Delivery::committed) {
            if (now >= m_identity_conflict_until) {
              log::error("agent: acks suspended: another agent appears to use id=" +
                         log::quote(m_config.id) + "; give each agent its own id");
            }
            m_identity_conflict_until = now + 2 * m_client.stable_after();
          }
          break;
      }
    }
    remove_done(false);
  }

  // Deletes delivered samples from the outbox in one transaction per k_delete_delay (or per
  // k_delete_batch samples) instead of one per PUBACK or ack: a sample still stored after its
  // delivery is at worst sent again after a crash, and the collector drops the duplicate.
  void remove_done(bool now) {
    for (auto& range : m_publisher.take_done()) {
      if (m_done.empty()) m_done_since = Steady::now();
      m_done_count += range.second - range.first + 1;
      m_done.push_back(range);
    }
    if (m_done.empty()) return;
    if (!now && m_done_count < k_delete_batch && Steady::now() < m_done_since + k_delete_delay) {
      return;
    }
    const auto done = merge_ranges(std::exchange(m_done, {}));
    m_done_count = 0;
    auto removed = m_outbox.remove(done);
    if (!removed) {
      log::error("outbox: delete failed, will retry error=" + log::quote(removed.error()));
      m_publisher.return_done(done);
      return;
    }
    m_metrics.count_acks(m_config.delivery == Delivery::broker ? "puback" : "committed", *removed);
    m_metrics.set_outbox(m_outbox.depth(), m_outbox.bytes());
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
    h.dropped = s.dropped() + m_unsaved.dropped();
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
    if (m_write_failing)
      text += ", OUTBOX WRITES FAILING (" + std::to_string(m_unsaved.count()) + " in memory)";
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
      warn_restart_only(config::restart_only_changes(agent_root_spec(), *m_start_document,
                                                     *fresh.document));
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
    if (!m_finished.empty()) store(std::exchange(m_finished, {}));
    if (!m_unsaved.empty()) retry_unsaved();
    while (Steady::now() < deadline) {
      handle_events();
      m_publisher.pump(Steady::now(), m_connected);
      const auto f = m_publisher.figures();
      const bool flushed = f.inflight == 0 && !m_publisher.has_work(m_connected) &&
                           (m_config.delivery == Delivery::broker || f.unacked == 0);
      if (flushed || !m_connected) break;
      m_events.wait_for(std::min(
          milliseconds{100}, std::chrono::duration_cast<milliseconds>(deadline - Steady::now())));
    }
    handle_events();
    remove_done(true);
    const auto left = std::max(milliseconds{100},
                               std::chrono::duration_cast<milliseconds>(deadline - Steady::now()));
    const wire::Status offline{
        .state = "offline", .reason = std::string("shutdown"), .ts = SystemClock::instance().now()};
    m_client.stop(
        left, mqtt::Message{m_topics.status(m_config.id), wire::encode_status(offline), 1, true});
    handle_events();
    remove_done(true);
    if (!m_unsaved.empty()) retry_unsaved();
    if (!m_unsaved.empty()) {
      m_metrics.count_outbox_drops(policy_name(m_config.buffer_policy), m_unsaved.count());
      log::error("agent: LOST samples held in memory count=" + std::to_string(m_unsaved.count()) +
                 " (the outbox could not be written until shutdown; their seqs were never "
                 "given out)");
    }
    log::info("agent: stopped unsent=" + std::to_string(m_outbox.depth()) +
              " last_seq=" + std::to_string(m_outbox.last_seq()) +
              " unsaved=" + std::to_string(m_unsaved.count()) + " published=" +
              std::to_string(m_publisher.figures().published) +
              " frames=" + std::to_string(m_publisher.figures().frames) +
              " framed=" + std::to_string(m_publisher.figures().framed));
    return 0;
  }

  SignalWatcher m_signals;  // first: blocks the signals before any thread starts
  AgentConfig m_config;
  wire::Topics m_topics;
  streamtrack::http::AgentMetrics m_metrics;
  EventQueue m_events;
  Wakeup m_wakeup;
  std::atomic<bool> m_wake_on_delivery{false};  // set by the loop, read by Paho's threads
  outbox::Outbox m_outbox;
  OutboxRows m_rows;
  std::unique_ptr<PollEngine> m_engine;
  mqtt::Client m_client;
  ClientTransport m_transport;
  publish::Publisher m_publisher;
  outbox::MemoryFallback m_unsaved;
  Backoff m_write_backoff;
  std::atomic<bool> m_write_failing{false};
  Steady::time_point m_next_write_retry{};
  Periodic m_health_timer;
  Periodic m_status_timer;
  // Samples of polls that finished, not stored yet: stored together once no request is in
  // flight (the polls that started together have finished) or k_group_commit_delay after the
  // first, so a burst of polls costs one transaction. Nothing is published before it is stored.
  static constexpr milliseconds k_group_commit_delay{50};
  std::vector<Sample> m_finished;
  Steady::time_point m_finished_since{};
  // Delivered seqs not yet deleted from the outbox (see remove_done).
  static constexpr milliseconds k_delete_delay{200};
  static constexpr std::int64_t k_delete_batch = 1024;
  std::vector<std::pair<std::int64_t, std::int64_t>> m_done;
  std::int64_t m_done_count = 0;
  Steady::time_point m_done_since{};
  // Read by the status server's threads: declared before it, so destroyed after it.
  mutable std::mutex m_ack_subscription_mutex;
  // Steady-clock nanoseconds of the first PUBACK not followed by an ack yet; 0 when none.
  std::atomic<std::int64_t> m_waiting_for_ack_since_ns{0};
  streamtrack::http::CheckResult m_ack_subscription{false, "not subscribed yet"};
  std::unique_ptr<streamtrack::http::StatusServer> m_status_server;
  TimePoint m_started_at{};
  // The configuration the process started with: what restart-only keys are compared against.
  std::shared_ptr<const toml::table> m_start_document = m_config.document;
  bool m_connected = false;
  std::int64_t m_reported_published = 0;
  std::int64_t m_reported_quarantined = 0;
  bool m_first_ack_logged = false;
  Steady::time_point m_identity_conflict_until{};  // acks are not applied before this
};

}  // namespace

int run_daemon(AgentConfig config) {
  log::set_level(config.log_level);
  log::set_format(config.log_format);
  // One malloc arena for every thread (Paho's included): the loop thread does nearly all the
  // work, and each extra arena keeps its own free pages resident.
  ::mallopt(M_ARENA_MAX, 1);
  Daemon daemon(std::move(config));
  return daemon.run();
}

}  // namespace streamtrack::agent
