#include "common/mqtt/client.hpp"

#include <mqtt/async_client.h>

#include "common/daemon/log.hpp"
#include "common/util/backoff.hpp"

namespace streamtrack::mqtt {

namespace {

std::string paho_uri(const config::MqttSettings& s) {
  return std::string(s.tls ? "ssl://" : "tcp://") + s.host + ":" + std::to_string(s.port);
}

std::string display_uri(const config::MqttSettings& s) {
  return std::string(s.tls ? "mqtts://" : "mqtt://") + s.host + ":" + std::to_string(s.port);
}

}  // namespace

struct Client::Impl final : public ::mqtt::iaction_listener {
  enum class State { idle, disconnected, connecting, connected, stopping };

  ClientOptions options;
  Handlers handlers;
  std::string display;

  mutable std::mutex mutex;
  std::condition_variable wake;
  State state = State::idle;
  std::chrono::steady_clock::time_point next_attempt{};
  std::chrono::steady_clock::time_point connected_at{};
  int early_drops = 0;  // connections in a row that ended before stable_after()
  // The next connect starts a clean session: the broker kept dropping the resumed one at once
  // (see on_disconnected).
  bool clean_next = false;
  bool healthy = false;  // the current connection has lasted stable_after()
  Backoff backoff;
  std::thread reconnect_thread;
  std::atomic<std::uint64_t> next_id{1};
  std::atomic<bool> handlers_enabled{true};
  // Subscriptions of the current connection still waiting for their SUBACK, and how many of
  // them the broker refused: when the last one is answered, "mqtt: subscribed" is logged, the
  // moment from which messages published by others reach this client.
  std::atomic<std::size_t> subscriptions_pending{0};
  std::atomic<std::size_t> subscriptions_refused{0};

  // Connect attempts report through Impl itself, publishes through `publish_listener`,
  // subscriptions through `subscribe_listener`.
  struct PublishListener final : public ::mqtt::iaction_listener {
    Impl* impl = nullptr;
    void on_success(const ::mqtt::token& tok) override { impl->publish_outcome(tok, true, ""); }
    void on_failure(const ::mqtt::token& tok) override {
      const int reason = static_cast<int>(tok.get_reason_code());
      // MQTT 5 PUBACK reasons about the message itself: it will never be accepted as it is.
      // (0x87 not authorized and 0x97 quota exceeded are about the moment or the broker's
      // configuration: sent again later.)
      if (reason == 0x90 || reason == 0x95 || reason == 0x99) {
        impl->publish_refused(tok, "refused by the broker (PUBACK reason 0x" + hex(reason) + ")");
        return;
      }
      impl->publish_outcome(tok, false,
                            "delivery failed (code " + std::to_string(tok.get_return_code()) +
                                (reason >= 0x80 ? ", reason 0x" + hex(reason) : std::string()) +
                                ")");
    }
  } publish_listener;

  struct SubscribeListener final : public ::mqtt::iaction_listener {
    Impl* impl = nullptr;
    void on_success(const ::mqtt::token& tok) override {
      int refused = -1;
      try {
        const auto response = tok.get_subscribe_response();
        for (const auto code : response.get_reason_codes()) {
          if (static_cast<int>(code) >= 0x80) refused = static_cast<int>(code);
        }
      } catch (const std::exception&) {
      }
      impl->subscription_outcome(tok, refused < 0, refused < 0 ? "" : suback_reason(refused));
    }
    void on_failure(const ::mqtt::token& tok) override {
      // MQTT 3.1.1: Paho reports the SUBACK's 0x80 as the return code; MQTT 5: the reason code.
      const int rc = tok.get_return_code();
      const int reason = static_cast<int>(tok.get_reason_code());
      const int code = rc >= 0x80 && rc < 0xFF           ? rc
                       : reason >= 0x80 && reason < 0xFF ? reason
                                                         : 0x80;
      impl->subscription_outcome(tok, false, suback_reason(code));
    }
  } subscribe_listener;

  // Declared last, so destroyed first: Paho's threads, which call into the members above
  // (listeners, handlers, mutex), are gone before any of them is.
  std::unique_ptr<::mqtt::async_client> paho;

  Impl(ClientOptions o, Handlers h)
      : options(std::move(o)),
        handlers(std::move(h)),
        display(display_uri(options.settings)),
        backoff(options.settings.reconnect_min, options.settings.reconnect_max) {
    publish_listener.impl = this;
    subscribe_listener.impl = this;
    const int version = options.settings.protocol_version == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
    ::mqtt::create_options create(version);
    paho = std::make_unique<::mqtt::async_client>(paho_uri(options.settings), options.client_id,
                                                  create, nullptr);
    paho->set_connected_handler([this](const std::string&) { on_connected(); });
    paho->set_connection_lost_handler([this](const std::string& cause) {
      on_disconnected(cause.empty() ? "connection lost" : "connection lost: " + cause);
    });
    paho->set_disconnected_handler([this](const ::mqtt::properties&, ::mqtt::ReasonCode code) {
      if (code == ::mqtt::ReasonCode::SESSION_TAKEN_OVER) {
        report_collision("the broker says the session was taken over");
      }
      on_disconnected("disconnected by the broker (reason " +
                      std::to_string(static_cast<int>(code)) + ")");
    });
    paho->set_message_callback([this](const ::mqtt::const_message_ptr& msg) {
      if (!handlers_enabled || !handlers.message) return;
      handlers.message(
          Message{msg->get_topic(), msg->to_string(), msg->get_qos(), msg->is_retained()});
    });
  }

  ::mqtt::connect_options connect_options(bool clean) const {
    const auto& s = options.settings;
    ::mqtt::connect_options opts;
    if (s.protocol_version == 5) {
      opts.set_mqtt_version(MQTTVERSION_5);
      opts.set_clean_start(clean);
      if (!options.clean_session) {
        // Keep the session (subscriptions, queued QoS 1 messages) for a day of absence; a
        // persistent client's clean start (clean_start_after_quick_drops) too, or the session
        // it starts would end at its next disconnect.
        opts.set_properties({{::mqtt::property::SESSION_EXPIRY_INTERVAL, 86400}});
      }
    } else {
      opts.set_mqtt_version(MQTTVERSION_3_1_1);
      opts.set_clean_session(clean);
    }
    opts.set_keep_alive_interval(std::chrono::duration_cast<std::chrono::seconds>(s.keepalive));
    opts.set_connect_timeout(
        std::chrono::duration_cast<std::chrono::seconds>(s.connect_timeout).count() > 0
            ? std::chrono::duration_cast<std::chrono::seconds>(s.connect_timeout)
            : std::chrono::seconds{1});
    opts.set_automatic_reconnect(false);
    opts.set_max_inflight(options.max_inflight);
    if (s.username) opts.set_user_name(*s.username);
    if (s.password) opts.set_password(*s.password);
    if (options.will) {
      opts.set_will(::mqtt::will_options(options.will->topic, options.will->payload,
                                         options.will->qos, options.will->retained));
    }
    if (s.tls) {
      ::mqtt::ssl_options ssl;
      if (s.ca_file) ssl.set_trust_store(*s.ca_file);
      if (s.cert_file) ssl.set_key_store(*s.cert_file);
      if (s.key_file) ssl.set_private_key(*s.key_file);
      ssl.set_enable_server_cert_auth(true);
      ssl.set_verify(s.verify_hostname);
      ssl.set_error_handler([this](const std::string& msg) {
        log::warning("mqtt: tls error server=" + display + " error=" + log::quote(msg));
      });
      opts.set_ssl(std::move(ssl));
    }
    return opts;
  }

  void start() {
    {
      std::lock_guard lock(mutex);
      if (state != State::idle) return;
      state = State::disconnected;
      next_attempt = std::chrono::steady_clock::now();
    }
    reconnect_thread = std::thread([this] { reconnect_loop(); });
  }

  void reconnect_loop() {
    std::unique_lock lock(mutex);
    while (state != State::stopping) {
      if (state == State::disconnected && std::chrono::steady_clock::now() >= next_attempt) {
        state = State::connecting;
        const bool clean = options.clean_session || clean_next;
        lock.unlock();
        if (clean && !options.clean_session) {
          log::warning("mqtt: starting a clean session client_id=" + log::quote(options.client_id) +
                       " (the broker kept dropping the resumed one; publishes in flight are "
                       "reported failed and sent again) server=" +
                       display);
        }
        try {
          paho->connect(connect_options(clean), nullptr, *this);
        } catch (const std::exception& e) {
          on_disconnected(std::string("connect failed: ") + e.what());
        }
        lock.lock();
        continue;
      }
      if (state == State::connected && !healthy) {
        // A connection counts as healthy (and resets the backoff) only once it has lasted.
        if (std::chrono::steady_clock::now() >= connected_at + stable_after()) {
          healthy = true;
          early_drops = 0;
          backoff.reset();
        } else {
          wake.wait_until(lock, connected_at + stable_after());
        }
        continue;
      }
      if (state == State::disconnected) {
        wake.wait_until(lock, next_attempt);
      } else {
        wake.wait(lock);
      }
    }
  }

  // Connect attempt outcome.
  void on_success(const ::mqtt::token&) override {}
  void on_failure(const ::mqtt::token& tok) override {
    on_disconnected("connect failed (code " + std::to_string(tok.get_return_code()) + ")");
  }

  std::chrono::milliseconds stable_after() const {
    return std::max(options.settings.reconnect_max, options.settings.keepalive);
  }

  void on_connected() {
    {
      std::lock_guard lock(mutex);
      if (state == State::stopping) return;
      state = State::connected;
      connected_at = std::chrono::steady_clock::now();
      healthy = false;
      clean_next = false;
    }
    wake.notify_all();
    subscriptions_refused = 0;
    subscriptions_pending = options.subscriptions.size();
    for (std::size_t i = 0; i < options.subscriptions.size(); ++i) {
      try {
        // Paho hands the context pointer back in the listener; it carries the index, never
        // dereferenced (subscription_index reads it back).
        paho->subscribe(options.subscriptions[i], options.subscription_qos,
                        // NOLINTNEXTLINE(performance-no-int-to-ptr)
                        reinterpret_cast<void*>(static_cast<std::uintptr_t>(i)),
                        subscribe_listener);
      } catch (const std::exception& e) {
        subscription_outcome_for(i, false, std::string("subscribe failed: ") + e.what());
      }
    }
    if (handlers_enabled && handlers.connected) handlers.connected();
  }

  void on_disconnected(const std::string& reason) {
    int early = 0;
    std::chrono::milliseconds lasted{0};
    {
      std::lock_guard lock(mutex);
      if (state == State::stopping || state == State::idle) return;
      const auto now = std::chrono::steady_clock::now();
      if (state == State::connected) {
        lasted = std::chrono::duration_cast<std::chrono::milliseconds>(now - connected_at);
        if (lasted >= stable_after()) {
          backoff.reset();
          early_drops = 0;
        } else if (!healthy) {
          early = ++early_drops;
          // Three resumed sessions in a row dropped at once: the broker may be refusing what
          // the session holds (Paho resends its unacknowledged publishes first on every
          // resume; after a broker crash one of them was seen to be "malformed" each time, so
          // nothing moved again). A clean session drops that state: Paho reports each of those
          // publishes failed, and the callers send them again from their own store. Only for
          // a client that asked for it: it also discards what the broker queued for it.
          if (early % 3 == 0 && options.clean_start_after_quick_drops) clean_next = true;
        }
      }
      state = State::disconnected;
      next_attempt = now + backoff.next_delay();
    }
    wake.notify_all();
    if (early > 0 && early % 3 == 0) {
      report_collision("the connection was dropped " + std::to_string(early) +
                       " times in a row within " + std::to_string(stable_after().count()) +
                       "ms of connecting (last after " + std::to_string(lasted.count()) + "ms)");
    }
    if (handlers_enabled && handlers.disconnected) handlers.disconnected(reason);
  }

  void report_collision(const std::string& evidence) {
    log::warning("mqtt: another client may be using client_id=" + log::quote(options.client_id) +
                 " (two agents with the same id?): " + evidence + " server=" + display);
    if (handlers_enabled && handlers.collision) handlers.collision(evidence);
  }

  static std::string suback_reason(int code) {
    return "refused by the broker (SUBACK code 0x" + hex(code) + "; check its ACL)";
  }

  static std::string hex(int code) {
    constexpr char digits[] = "0123456789abcdef";
    return {digits[(code >> 4) & 0xF], digits[code & 0xF]};
  }

  void subscription_outcome(const ::mqtt::token& tok, bool ok, const std::string& reason) {
    subscription_outcome_for(
        static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(tok.get_user_context())), ok,
        reason);
  }

  void subscription_outcome_for(std::size_t index, bool ok, const std::string& reason) {
    if (index >= options.subscriptions.size()) return;
    const auto& filter = options.subscriptions[index];
    if (!ok) {
      log::error("mqtt: subscription refused filter=" + log::quote(filter) +
                 " reason=" + log::quote(reason));
    }
    if (handlers_enabled && handlers.subscribed) handlers.subscribed(filter, ok, reason);
    if (!ok) ++subscriptions_refused;
    auto pending = subscriptions_pending.load();
    while (pending > 0 && !subscriptions_pending.compare_exchange_weak(pending, pending - 1)) {
    }
    if (pending == 1) {
      log::info("mqtt: subscribed filters=" + std::to_string(options.subscriptions.size()) +
                " refused=" + std::to_string(subscriptions_refused.load()) + " server=" + display);
    }
  }

  void publish_outcome(const ::mqtt::token& tok, bool ok, const std::string& error) {
    const auto id =
        static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(tok.get_user_context()));
    if (handlers_enabled && handlers.delivered) handlers.delivered(id, ok, error);
  }

  void publish_refused(const ::mqtt::token& tok, const std::string& reason) {
    if (!handlers.refused) {
      publish_outcome(tok, false, reason);
      return;
    }
    const auto id =
        static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(tok.get_user_context()));
    if (handlers_enabled) handlers.refused(id, reason);
  }

  PublishResult publish(const Message& m) {
    if (!connected()) return {PublishResult::Kind::retry, 0, "not connected"};
    const std::uint64_t id = next_id.fetch_add(1);
    try {
      auto msg = ::mqtt::make_message(m.topic, m.payload, m.qos, m.retained);
      // The context pointer carries the publish id back to publish_listener; never dereferenced.
      // NOLINTNEXTLINE(performance-no-int-to-ptr)
      paho->publish(msg, reinterpret_cast<void*>(static_cast<std::uintptr_t>(id)),
                    publish_listener);
      return {PublishResult::Kind::sent, id, {}};
    } catch (const ::mqtt::exception& e) {
      const int rc = e.get_return_code();
      // Paho's verdicts on the message itself; everything else is about the connection.
      const bool permanent = rc == MQTTASYNC_BAD_UTF8_STRING || rc == MQTTASYNC_NULL_PARAMETER ||
                             rc == MQTTASYNC_TOPICNAME_TRUNCATED || rc == MQTTASYNC_BAD_STRUCTURE ||
                             rc == MQTTASYNC_BAD_QOS;
      log::debug("mqtt: publish refused topic=" + log::quote(m.topic) +
                 " error=" + log::quote(e.what()));
      return {permanent ? PublishResult::Kind::reject : PublishResult::Kind::retry, 0, e.what()};
    } catch (const std::exception& e) {
      log::debug("mqtt: publish refused topic=" + log::quote(m.topic) +
                 " error=" + log::quote(e.what()));
      return {PublishResult::Kind::retry, 0, e.what()};
    }
  }

  bool connected() const {
    // Paho runs our connected/lost callbacks (which take `mutex`) while holding its own lock:
    // never call into Paho with `mutex` held.
    {
      std::lock_guard lock(mutex);
      if (state != State::connected) return false;
    }
    return paho->is_connected();
  }

  void stop(std::chrono::milliseconds timeout, const std::optional<Message>& last_words) {
    bool was_connected;
    {
      std::lock_guard lock(mutex);
      if (state == State::stopping) return;
      was_connected = state == State::connected;
      state = State::stopping;
    }
    wake.notify_all();
    if (reconnect_thread.joinable()) reconnect_thread.join();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    try {
      if (was_connected && paho->is_connected()) {
        if (last_words) {
          auto tok = paho->publish(::mqtt::make_message(last_words->topic, last_words->payload,
                                                        last_words->qos, last_words->retained));
          tok->wait_for(timeout);
        }
        const auto left = std::max(std::chrono::milliseconds{0},
                                   std::chrono::duration_cast<std::chrono::milliseconds>(
                                       deadline - std::chrono::steady_clock::now()));
        paho->disconnect(static_cast<int>(left.count()))->wait_for(left + std::chrono::seconds{1});
      }
    } catch (const std::exception& e) {
      log::warning("mqtt: disconnect failed error=" + log::quote(e.what()));
    }
    handlers_enabled = false;
  }
};

Client::Client(ClientOptions options, Handlers handlers)
    : m_impl(std::make_unique<Impl>(std::move(options), std::move(handlers))) {}

Client::~Client() {
  m_impl->stop(std::chrono::milliseconds{0}, std::nullopt);
  try {
    m_impl->paho->disable_callbacks();
  } catch (...) {
  }
}

void Client::start() {
  m_impl->start();
}

void Client::stop(std::chrono::milliseconds timeout, const std::optional<Message>& last_words) {
  m_impl->stop(timeout, last_words);
}

bool Client::connected() const {
  return m_impl->connected();
}

std::optional<std::uint64_t> Client::publish(const Message& message) {
  const auto result = m_impl->publish(message);
  if (result.kind != PublishResult::Kind::sent) return std::nullopt;
  return result.id;
}

PublishResult Client::publish_checked(const Message& message) {
  return m_impl->publish(message);
}

std::chrono::milliseconds Client::stable_after() const {
  return m_impl->stable_after();
}

std::uint32_t Client::reconnect_failures() const {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->backoff.failures();
}

const std::string& Client::server() const {
  return m_impl->display;
}

}  // namespace streamtrack::mqtt
