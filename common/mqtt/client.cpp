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
  std::unique_ptr<::mqtt::async_client> paho;

  mutable std::mutex mutex;
  std::condition_variable wake;
  State state = State::idle;
  std::chrono::steady_clock::time_point next_attempt{};
  Backoff backoff;
  std::thread reconnect_thread;
  std::atomic<std::uint64_t> next_id{1};
  std::atomic<bool> handlers_enabled{true};

  // Connect attempts report through this listener (publishes use `publish_listener`).
  struct PublishListener final : public ::mqtt::iaction_listener {
    Impl* impl = nullptr;
    void on_success(const ::mqtt::token& tok) override { impl->publish_outcome(tok, true, ""); }
    void on_failure(const ::mqtt::token& tok) override {
      impl->publish_outcome(tok, false, "delivery failed (code " + std::to_string(tok.get_return_code()) + ")");
    }
  } publish_listener;

  Impl(ClientOptions o, Handlers h)
      : options(std::move(o)),
        handlers(std::move(h)),
        display(display_uri(options.settings)),
        backoff(options.settings.reconnect_min, options.settings.reconnect_max) {
    publish_listener.impl = this;
    const int version = options.settings.protocol_version == 5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
    ::mqtt::create_options create(version);
    paho = std::make_unique<::mqtt::async_client>(paho_uri(options.settings), options.client_id,
                                                  create, nullptr);
    paho->set_connected_handler([this](const std::string&) { on_connected(); });
    paho->set_connection_lost_handler([this](const std::string& cause) {
      on_disconnected(cause.empty() ? "connection lost" : "connection lost: " + cause);
    });
    paho->set_message_callback([this](::mqtt::const_message_ptr msg) {
      if (!handlers_enabled || !handlers.message) return;
      handlers.message(Message{msg->get_topic(), msg->to_string(), msg->get_qos(),
                               msg->is_retained()});
    });
  }

  ::mqtt::connect_options connect_options() const {
    const auto& s = options.settings;
    ::mqtt::connect_options opts;
    if (s.protocol_version == 5) {
      opts.set_mqtt_version(MQTTVERSION_5);
      opts.set_clean_start(options.clean_session);
      if (!options.clean_session) {
        // Keep the session (subscriptions, queued QoS 1 messages) for a day of absence.
        opts.set_properties({{::mqtt::property::SESSION_EXPIRY_INTERVAL, 86400}});
      }
    } else {
      opts.set_mqtt_version(MQTTVERSION_3_1_1);
      opts.set_clean_session(options.clean_session);
    }
    opts.set_keep_alive_interval(
        std::chrono::duration_cast<std::chrono::seconds>(s.keepalive));
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
        lock.unlock();
        try {
          paho->connect(connect_options(), nullptr, *this);
        } catch (const std::exception& e) {
          on_disconnected(std::string("connect failed: ") + e.what());
        }
        lock.lock();
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

  void on_connected() {
    {
      std::lock_guard lock(mutex);
      if (state == State::stopping) return;
      state = State::connected;
      backoff.reset();
    }
    if (!options.subscriptions.empty()) {
      try {
        std::vector<int> qos(options.subscriptions.size(), options.subscription_qos);
        paho->subscribe(::mqtt::string_collection::create(options.subscriptions), qos);
      } catch (const std::exception& e) {
        log::warning("mqtt: subscribe failed error=" + log::quote(e.what()));
      }
    }
    if (handlers_enabled && handlers.connected) handlers.connected();
  }

  void on_disconnected(const std::string& reason) {
    {
      std::lock_guard lock(mutex);
      if (state == State::stopping || state == State::idle) return;
      state = State::disconnected;
      next_attempt = std::chrono::steady_clock::now() + backoff.next_delay();
    }
    wake.notify_all();
    if (handlers_enabled && handlers.disconnected) handlers.disconnected(reason);
  }

  void publish_outcome(const ::mqtt::token& tok, bool ok, const std::string& error) {
    const auto id = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(tok.get_user_context()));
    if (handlers_enabled && handlers.delivered) handlers.delivered(id, ok, error);
  }

  std::optional<std::uint64_t> publish(const Message& m) {
    if (!connected()) return std::nullopt;
    const std::uint64_t id = next_id.fetch_add(1);
    try {
      auto msg = ::mqtt::make_message(m.topic, m.payload, m.qos, m.retained);
      paho->publish(msg, reinterpret_cast<void*>(static_cast<std::uintptr_t>(id)),
                    publish_listener);
      return id;
    } catch (const std::exception& e) {
      log::debug("mqtt: publish refused topic=" + log::quote(m.topic) +
                 " error=" + log::quote(e.what()));
      return std::nullopt;
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

void Client::start() { m_impl->start(); }

void Client::stop(std::chrono::milliseconds timeout, const std::optional<Message>& last_words) {
  m_impl->stop(timeout, last_words);
}

bool Client::connected() const { return m_impl->connected(); }

std::optional<std::uint64_t> Client::publish(const Message& message) {
  return m_impl->publish(message);
}

const std::string& Client::server() const { return m_impl->display; }

}  // namespace streamtrack::mqtt
