#include "common/mqtt/loop_client.hpp"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/daemon/log.hpp"
#include "common/util/backoff.hpp"

namespace streamtrack::mqtt {

namespace {

using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

// libmosquitto's global state (its OpenSSL setup), once per process.
struct LibraryInit {
  LibraryInit() { mosquitto_lib_init(); }
};

std::string display_uri(const config::MqttSettings& s) {
  return std::string(s.tls ? "mqtts://" : "mqtt://") + s.host + ":" + std::to_string(s.port);
}

std::string hex(int code) {
  constexpr char digits[] = "0123456789abcdef";
  return {digits[(code >> 4) & 0xF], digits[code & 0xF]};
}

std::string suback_reason(int code) {
  return "refused by the broker (SUBACK code 0x" + hex(code) + "; check its ACL)";
}

// A session of a day of absence (subscriptions, QoS 1 messages queued for us), as mqtt::Client.
constexpr std::uint32_t k_session_expiry_s = 86'400;

}  // namespace

bool session_expiry_supported(int major, int minor, int /*revision*/) {
  return major == 2 && minor == 0;
}

struct LoopClient::Impl {
  enum class State { idle, disconnected, connecting, connected, stopping };

  ClientOptions options;
  Handlers handlers;
  std::string display;

  // Guards everything below: publish() and connected() may come from other threads than the
  // one calling service(). Handlers never run with it held (they are queued in `pending` while
  // libmosquitto calls back, and run once it is released).
  mutable std::mutex mutex;
  std::atomic<State> state{State::idle};
  mosquitto* mosq = nullptr;  // one per connection: a new connection starts with no old state
  Steady::time_point next_attempt{};
  Steady::time_point connect_deadline{};
  Steady::time_point connected_at{};
  int early_drops = 0;      // connections in a row that ended before stable_after()
  bool clean_next = false;  // see lost()
  bool healthy = false;     // the current connection has lasted stable_after()
  Backoff backoff;
  std::uint64_t next_id = 1;
  std::unordered_map<int, std::uint64_t> inflight;   // libmosquitto mid -> publish id
  std::unordered_map<int, std::size_t> subscribing;  // mid -> index in options.subscriptions
  std::size_t subscriptions_pending = 0;
  std::size_t subscriptions_refused = 0;
  // Set by libmosquitto's callbacks, acted upon once it returned (the handle cannot be
  // destroyed from inside its own callback).
  std::optional<std::string> lost_reason;
  std::optional<std::uint64_t> last_words_id;
  std::vector<std::function<void()>> pending;
  // Whether a persistent MQTT 5 session gets its expiry interval (see attempt()).
  bool session_expiry = false;
  // The last read stopped at k_max_reads_per_service with data left (maybe inside the TLS
  // layer, where poll() does not see it): the next service() reads on, whatever its caller saw.
  bool unread = false;

  Impl(ClientOptions o, Handlers h)
      : options(std::move(o)),
        handlers(std::move(h)),
        display(display_uri(options.settings)),
        backoff(options.settings.reconnect_min, options.settings.reconnect_max) {
    static LibraryInit init;
    if (v5() && !options.clean_session) {
      int major = 0;
      int minor = 0;
      int revision = 0;
      mosquitto_lib_version(&major, &minor, &revision);
      session_expiry = session_expiry_supported(major, minor, revision);
      if (!session_expiry) {
        log::warning("mqtt: libmosquitto " + std::to_string(major) + "." + std::to_string(minor) +
                     "." + std::to_string(revision) +
                     " is not a version the MQTT 5 session expiry is known to work with (2.0.x): "
                     "connecting without it, so the broker ends the session with each connection "
                     "(acks published while the agent is away are lost and those samples are "
                     "sent again; the collector drops the duplicates) client_id=" +
                     log::quote(options.client_id));
      }
    }
  }

  ~Impl() { close_handle(); }

  bool v5() const { return options.settings.protocol_version == 5; }

  milliseconds stable_after() const {
    return std::max(options.settings.reconnect_max, options.settings.keepalive);
  }

  void close_handle() {
    if (mosq) mosquitto_destroy(mosq);
    mosq = nullptr;
  }

  // Runs the queued handlers, without the lock. The loop thread only.
  void dispatch(std::unique_lock<std::mutex>& lock) {
    while (!pending.empty()) {
      auto run = std::exchange(pending, {});
      lock.unlock();
      for (auto& f : run) f();
      lock.lock();
    }
  }

  // --- libmosquitto's callbacks (inside its loop calls, with `mutex` held) ---

  static Impl& of(void* obj) { return *static_cast<Impl*>(obj); }

  static void on_connect(mosquitto*, void* obj, int rc, int, const mosquitto_property*) {
    of(obj).connect_answered(rc);
  }
  static void on_disconnect(mosquitto*, void* obj, int rc, const mosquitto_property*) {
    auto& self = of(obj);
    if (self.v5() && rc == MQTT_RC_SESSION_TAKEN_OVER) {
      self.report_collision("the broker says the session was taken over");
    }
    if (!self.lost_reason) {
      self.lost_reason = rc == 0 ? std::string("disconnected")
                                 : "connection lost: " + std::string(mosquitto_strerror(rc));
      if (self.v5() && rc >= 0x80) {
        *self.lost_reason = "disconnected by the broker (reason " + std::to_string(rc) + ")";
      }
    }
  }
  static void on_publish(mosquitto*, void* obj, int mid, int reason, const mosquitto_property*) {
    of(obj).publish_answered(mid, reason);
  }
  static void on_subscribe(mosquitto*, void* obj, int mid, int count, const int* granted,
                           const mosquitto_property*) {
    of(obj).subscribe_answered(mid, count, granted);
  }
  static void on_message(mosquitto*, void* obj, const mosquitto_message* m,
                         const mosquitto_property*) {
    auto& self = of(obj);
    if (!self.handlers.message || !m || !m->topic) return;
    Message message{m->topic,
                    std::string(static_cast<const char*>(m->payload),
                                static_cast<std::size_t>(std::max(0, m->payloadlen))),
                    m->qos, m->retain};
    self.pending.emplace_back([&self, message = std::move(message)]() mutable {
      self.handlers.message(std::move(message));
    });
  }

  void connect_answered(int rc) {
    if (rc != 0) {
      lost_reason = "connect refused: " +
                    std::string(v5() ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc));
      return;
    }
    state = State::connected;
    connected_at = Steady::now();
    healthy = false;
    clean_next = false;
    subscriptions_refused = 0;
    subscriptions_pending = options.subscriptions.size();
    for (std::size_t i = 0; i < options.subscriptions.size(); ++i) {
      int mid = 0;
      const int src = mosquitto_subscribe(mosq, &mid, options.subscriptions[i].c_str(),
                                          options.subscription_qos);
      if (src == MOSQ_ERR_SUCCESS) {
        subscribing[mid] = i;
      } else {
        subscription_outcome(i, false, "subscribe failed: " + std::string(mosquitto_strerror(src)));
      }
    }
    if (handlers.connected) pending.emplace_back([this] { handlers.connected(); });
  }

  void subscribe_answered(int mid, int count, const int* granted) {
    const auto it = subscribing.find(mid);
    if (it == subscribing.end()) return;
    const std::size_t index = it->second;
    subscribing.erase(it);
    int refused = -1;
    for (int i = 0; i < count; ++i) {
      if (granted[i] >= 0x80) refused = granted[i];
    }
    subscription_outcome(index, refused < 0, refused < 0 ? "" : suback_reason(refused));
  }

  void subscription_outcome(std::size_t index, bool ok, const std::string& reason) {
    const auto& filter = options.subscriptions[index];
    if (!ok) {
      log::error("mqtt: subscription refused filter=" + log::quote(filter) +
                 " reason=" + log::quote(reason));
      ++subscriptions_refused;
    }
    if (handlers.subscribed) {
      pending.emplace_back([this, filter, ok, reason] { handlers.subscribed(filter, ok, reason); });
    }
    if (subscriptions_pending > 0 && --subscriptions_pending == 0) {
      log::info("mqtt: subscribed filters=" + std::to_string(options.subscriptions.size()) +
                " refused=" + std::to_string(subscriptions_refused) + " server=" + display);
    }
  }

  void publish_answered(int mid, int reason) {
    const auto it = inflight.find(mid);
    if (it == inflight.end()) return;
    const std::uint64_t id = it->second;
    inflight.erase(it);
    if (last_words_id == id) return;
    // MQTT 5 PUBACK reasons about the message itself: it will never be accepted as it is.
    // (0x87 not authorized and 0x97 quota exceeded are about the moment or the broker's
    // configuration: sent again later.)
    if (reason == 0x90 || reason == 0x95 || reason == 0x99) {
      const std::string why = "refused by the broker (PUBACK reason 0x" + hex(reason) + ")";
      if (handlers.refused) {
        pending.emplace_back([this, id, why] { handlers.refused(id, why); });
        return;
      }
      queue_delivered(id, false, why);
      return;
    }
    if (reason >= 0x80) {
      queue_delivered(id, false, "delivery failed (reason 0x" + hex(reason) + ")");
      return;
    }
    queue_delivered(id, true, {});
  }

  void queue_delivered(std::uint64_t id, bool ok, std::string error) {
    if (!handlers.delivered) return;
    pending.emplace_back(
        [this, id, ok, error = std::move(error)] { handlers.delivered(id, ok, error); });
  }

  void report_collision(const std::string& evidence) {
    log::warning("mqtt: another client may be using client_id=" + log::quote(options.client_id) +
                 " (two agents with the same id?): " + evidence + " server=" + display);
    if (handlers.collision)
      pending.emplace_back([this, evidence] { handlers.collision(evidence); });
  }

  // --- the connection, driven by service() (with `mutex` held) ---

  // A new handle with everything a connection needs; nullptr (and `lost_reason`) on failure.
  mosquitto* make_handle(bool clean) {
    const auto& s = options.settings;
    mosquitto* m =
        mosquitto_new(options.client_id.empty() ? nullptr : options.client_id.c_str(), clean, this);
    if (!m) {
      lost_reason = "cannot create the MQTT client (client id empty with a persistent session?)";
      return nullptr;
    }
    const auto fail = [&](const char* what, int rc) {
      lost_reason = std::string(what) + ": " + mosquitto_strerror(rc);
      mosquitto_destroy(m);
      return nullptr;
    };
    int rc = mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION,
                                  v5() ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    if (rc) return fail("protocol version", rc);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, std::clamp(options.max_inflight, 1, 65535));
    if (s.username) {
      rc = mosquitto_username_pw_set(m, s.username->c_str(),
                                     s.password ? s.password->c_str() : nullptr);
      if (rc) return fail("username", rc);
    }
    if (options.will) {
      const auto& w = *options.will;
      rc = mosquitto_will_set(m, w.topic.c_str(), static_cast<int>(w.payload.size()),
                              w.payload.data(), w.qos, w.retained);
      if (rc) return fail("last will", rc);
    }
    if (s.tls) {
      if (!s.ca_file) mosquitto_int_option(m, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
      rc = mosquitto_tls_set(m, s.ca_file ? s.ca_file->c_str() : nullptr, nullptr,
                             s.cert_file ? s.cert_file->c_str() : nullptr,
                             s.key_file ? s.key_file->c_str() : nullptr, nullptr);
      if (rc) return fail("tls files", rc);
      rc = mosquitto_tls_opts_set(m, 1 /* SSL_VERIFY_PEER */, nullptr, nullptr);
      if (rc) return fail("tls options", rc);
      mosquitto_tls_insecure_set(m, !s.verify_hostname);
    }
    mosquitto_connect_v5_callback_set(m, &Impl::on_connect);
    mosquitto_disconnect_v5_callback_set(m, &Impl::on_disconnect);
    mosquitto_publish_v5_callback_set(m, &Impl::on_publish);
    mosquitto_subscribe_v5_callback_set(m, &Impl::on_subscribe);
    mosquitto_message_v5_callback_set(m, &Impl::on_message);
    return m;
  }

  void attempt(Steady::time_point now) {
    const bool clean = options.clean_session || clean_next;
    if (clean && !options.clean_session) {
      log::warning("mqtt: starting a clean session client_id=" + log::quote(options.client_id) +
                   " (the broker kept dropping the resumed one; publishes in flight are "
                   "reported failed and sent again) server=" +
                   display);
    }
    state = State::connecting;
    connect_deadline = now + std::max(milliseconds{1000}, options.settings.connect_timeout);
    mosq = make_handle(clean);
    if (!mosq) return;
    const auto& s = options.settings;
    const int keepalive = static_cast<int>(std::max<std::int64_t>(
        5, std::chrono::duration_cast<std::chrono::seconds>(s.keepalive).count()));
    if (session_expiry) {
      // libmosquitto takes CONNECT properties only through its blocking connect call. Handing
      // them over with a port it refuses before connecting stores them for the non-blocking
      // connect below (libmosquitto 2.0 checks the properties, keeps them, then the port).
      // MqttClient/Loop.AnMqtt5SessionOutlivesTheConnection fails if that ever changes.
      mosquitto_property* props = nullptr;
      mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, k_session_expiry_s);
      mosquitto_connect_bind_v5(mosq, s.host.c_str(), -1, keepalive, nullptr, props);
      mosquitto_property_free_all(&props);
    }
    const int rc = mosquitto_connect_async(mosq, s.host.c_str(), s.port, keepalive);
    if (rc != MOSQ_ERR_SUCCESS) {
      lost_reason = "connect failed: " + std::string(rc == MOSQ_ERR_ERRNO ? std::strerror(errno)
                                                                          : mosquitto_strerror(rc));
    }
  }

  // After stop() closed the handle: what is still in flight will never be acknowledged on this
  // connection and is reported failed (its owner sends it again), as on a lost connection; the
  // other per-connection state goes too, so that a later start() begins clean.
  void stopped() {
    for (const auto& [mid, id] : inflight) {
      if (id != last_words_id) queue_delivered(id, false, "stopped before the broker's PUBACK");
    }
    inflight.clear();
    subscribing.clear();
    subscriptions_pending = 0;
    lost_reason.reset();
    last_words_id.reset();
    clean_next = false;
    healthy = false;
    early_drops = 0;
    backoff.reset();
  }

  // Ends the current connection or attempt: every publish in flight is reported failed (its
  // owner sends it again), the handle with all its state goes, the next attempt is scheduled.
  void lost(Steady::time_point now) {
    const std::string reason = lost_reason.value_or("connection lost");
    lost_reason.reset();
    close_handle();
    for (const auto& [mid, id] : inflight) {
      if (id != last_words_id) queue_delivered(id, false, reason);
    }
    inflight.clear();
    subscribing.clear();
    subscriptions_pending = 0;
    if (state == State::stopping || state == State::idle) return;
    int early = 0;
    milliseconds lasted{0};
    if (state == State::connected) {
      lasted = std::chrono::duration_cast<milliseconds>(now - connected_at);
      if (lasted >= stable_after()) {
        backoff.reset();
        early_drops = 0;
      } else if (!healthy) {
        early = ++early_drops;
        // Three sessions in a row dropped at once: the broker may be refusing what the resumed
        // session holds; the next connect starts a clean one.
        if (early % 3 == 0 && options.clean_start_after_quick_drops) clean_next = true;
      }
    }
    state = State::disconnected;
    next_attempt = now + backoff.next_delay();
    if (early > 0 && early % 3 == 0) {
      report_collision("the connection was dropped " + std::to_string(early) +
                       " times in a row within " + std::to_string(stable_after().count()) +
                       "ms of connecting (last after " + std::to_string(lasted.count()) + "ms)");
    }
    if (handlers.disconnected) {
      pending.emplace_back([this, reason] { handlers.disconnected(reason); });
    }
  }

  // Reads what the socket holds, up to k_max_reads_per_service calls of loop_read.
  // libmosquitto 2.0's loop_read reads one packet per message it has in flight (one when there
  // is none) and reports an empty socket only through errno (EAGAIN, with success): a backlog
  // of acks or a PINGRESP behind them would otherwise drain at one packet per wake-up.
  int read_available() {
    unread = false;
    for (int i = 0; i < LoopClient::k_max_reads_per_service && mosq && !lost_reason; ++i) {
      errno = 0;
      const int rc = mosquitto_loop_read(mosq, 1);
      if (rc != MOSQ_ERR_SUCCESS) return rc;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return MOSQ_ERR_SUCCESS;
    }
    unread = mosq && !lost_reason;
    return MOSQ_ERR_SUCCESS;
  }

  // One pass over the socket without blocking: read (unless the caller saw nothing to read),
  // keepalive, write.
  void drive(Steady::time_point now, bool readable = true) {
    if (state == State::disconnected && now >= next_attempt) attempt(now);
    if (!mosq || lost_reason) {
      if (lost_reason) lost(now);
      return;
    }
    int rc = readable || unread ? read_available() : MOSQ_ERR_SUCCESS;
    if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_loop_misc(mosq);
    if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(mosq)) rc = mosquitto_loop_write(mosq, 1);
    if (rc != MOSQ_ERR_SUCCESS && !lost_reason) {
      lost_reason = rc == MOSQ_ERR_ERRNO
                        ? "connection lost: " + std::string(std::strerror(errno))
                        : "connection lost: " + std::string(mosquitto_strerror(rc));
    }
    if (state == State::connecting && !lost_reason && now >= connect_deadline) {
      lost_reason =
          "connect timed out after " +
          std::to_string(std::chrono::duration_cast<milliseconds>(
                             std::max(milliseconds{1000}, options.settings.connect_timeout))
                             .count()) +
          "ms";
    }
    if (lost_reason) {
      lost(now);
      return;
    }
    if (state == State::connected && !healthy && now >= connected_at + stable_after()) {
      healthy = true;
      early_drops = 0;
      backoff.reset();
    }
  }

  Wait wait_locked() const {
    Wait w;
    const auto now = Steady::now();
    switch (state.load()) {
      case State::idle:
      case State::stopping:
        w.until = now + std::chrono::hours{1};
        break;
      case State::disconnected:
        w.until = next_attempt;
        break;
      case State::connecting:
        w.until = connect_deadline;
        break;
      case State::connected:
        // The next keepalive check: libmosquitto pings after keepalive without traffic.
        w.until =
            healthy ? now + std::max(milliseconds{1000}, options.settings.keepalive / 4)
                    : std::min(connected_at + stable_after(),
                               now + std::max(milliseconds{1000}, options.settings.keepalive / 4));
        break;
    }
    if (mosq) {
      w.fd = mosquitto_socket(mosq);
      w.write = mosquitto_want_write(mosq);
      if (unread) w.until = now;
    }
    return w;
  }

  PublishResult publish_locked(const Message& m) {
    if (state != State::connected || !mosq) return {PublishResult::Kind::retry, 0, "not connected"};
    int mid = 0;
    const int rc =
        mosquitto_publish(mosq, &mid, m.topic.c_str(), static_cast<int>(m.payload.size()),
                          m.payload.data(), m.qos, m.retained);
    switch (rc) {
      case MOSQ_ERR_SUCCESS:
        break;
      // Verdicts on the message itself; everything else is about the connection or the moment.
      case MOSQ_ERR_INVAL:
      case MOSQ_ERR_MALFORMED_UTF8:
      case MOSQ_ERR_PAYLOAD_SIZE:
      case MOSQ_ERR_OVERSIZE_PACKET:
      case MOSQ_ERR_QOS_NOT_SUPPORTED:
        log::debug("mqtt: publish refused topic=" + log::quote(m.topic) +
                   " error=" + log::quote(mosquitto_strerror(rc)));
        return {PublishResult::Kind::reject, 0, mosquitto_strerror(rc)};
      default:
        // Written at once and the write failed: the connection is gone (service() notices);
        // the message, never acknowledged, is the caller's to send again.
        log::debug("mqtt: publish refused topic=" + log::quote(m.topic) +
                   " error=" + log::quote(mosquitto_strerror(rc)));
        return {PublishResult::Kind::retry, 0, mosquitto_strerror(rc)};
    }
    const std::uint64_t id = next_id++;
    if (m.qos == 0) {
      queue_delivered(id, true, {});  // no PUBACK will come: written is all there is
    } else {
      inflight[mid] = id;
    }
    return {PublishResult::Kind::sent, id, {}};
  }
};

LoopClient::LoopClient(ClientOptions options, Handlers handlers)
    : m_impl(std::make_unique<Impl>(std::move(options), std::move(handlers))) {}

LoopClient::~LoopClient() = default;

void LoopClient::start() {
  std::lock_guard lock(m_impl->mutex);
  if (m_impl->state != Impl::State::idle) return;
  m_impl->state = Impl::State::disconnected;
  m_impl->next_attempt = Steady::now();
}

void LoopClient::service(bool readable) {
  std::unique_lock lock(m_impl->mutex);
  m_impl->drive(Steady::now(), readable);
  m_impl->dispatch(lock);
}

LoopClient::Wait LoopClient::wait() const {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->wait_locked();
}

void LoopClient::stop(milliseconds timeout, const std::optional<Message>& last_words) {
  auto& impl = *m_impl;
  std::unique_lock lock(impl.mutex);
  if (impl.state == Impl::State::stopping || impl.state == Impl::State::idle) return;
  const auto deadline = Steady::now() + timeout;
  // Drives the connection until `done` or the deadline, running the handlers of what arrives.
  const auto drive_until = [&](const auto& done) {
    while (impl.mosq && !done()) {
      const auto now = Steady::now();
      if (now >= deadline) return;
      const auto w = impl.wait_locked();
      lock.unlock();
      pollfd p{w.fd, static_cast<short>(POLLIN | (w.write ? POLLOUT : 0)), 0};
      ::poll(&p, 1,
             static_cast<int>(std::clamp<std::int64_t>(
                 std::chrono::duration_cast<milliseconds>(deadline - now).count(), 0, 100)));
      lock.lock();
      impl.drive(Steady::now());
      impl.dispatch(lock);
    }
  };
  if (impl.state == Impl::State::connected && last_words) {
    const auto sent = impl.publish_locked(*last_words);
    if (sent.kind == PublishResult::Kind::sent) impl.last_words_id = sent.id;
  }
  drive_until([&] { return impl.state != Impl::State::connected || impl.inflight.empty(); });
  impl.state = Impl::State::stopping;
  if (impl.mosq) {
    if (mosquitto_disconnect(impl.mosq) == MOSQ_ERR_SUCCESS) {
      // The DISCONNECT written, libmosquitto closes the socket: the broker drops the will.
      while (impl.mosq && mosquitto_socket(impl.mosq) >= 0 && Steady::now() < deadline &&
             mosquitto_want_write(impl.mosq)) {
        pollfd p{mosquitto_socket(impl.mosq), POLLOUT, 0};
        ::poll(&p, 1, 100);
        mosquitto_loop_write(impl.mosq, 1);
      }
    }
    impl.close_handle();
  }
  impl.stopped();
  impl.dispatch(lock);
  impl.state = Impl::State::idle;
}

bool LoopClient::connected() const {
  return m_impl->state == Impl::State::connected;
}

PublishResult LoopClient::publish_checked(const Message& message) {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->publish_locked(message);
}

std::optional<std::uint64_t> LoopClient::publish(const Message& message) {
  const auto result = publish_checked(message);
  if (result.kind != PublishResult::Kind::sent) return std::nullopt;
  return result.id;
}

milliseconds LoopClient::stable_after() const {
  return m_impl->stable_after();
}

std::uint32_t LoopClient::reconnect_failures() const {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->backoff.failures();
}

const std::string& LoopClient::server() const {
  return m_impl->display;
}

}  // namespace streamtrack::mqtt
