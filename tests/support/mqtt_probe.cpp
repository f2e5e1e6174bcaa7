#include <mqtt/async_client.h>

#include <atomic>
#include <condition_variable>
#include <stdexcept>

#include "tests/support/harness.hpp"

namespace streamtrack::testing {

namespace {

std::string paho_uri(const std::string& url) {
  if (url.rfind("mqtt://", 0) == 0) return "tcp://" + url.substr(7);
  if (url.rfind("mqtts://", 0) == 0) return "ssl://" + url.substr(8);
  return url;
}

std::string next_client_id() {
  static std::atomic<int> counter{0};
  return "streamtrack-probe-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

}  // namespace

struct MqttProbe::Impl : public mqtt::iaction_listener {
  std::vector<std::string> filters;
  int qos = 1;
  mqtt::async_client client;
  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::vector<Message> messages;
  int subscribe_acks = 0;
  bool subscribed = false;  // in the current connection
  std::string subscribe_error;

  Impl(const std::string& url, std::vector<std::string> f, int q)
      : filters(std::move(f)), qos(q), client(paho_uri(url), next_client_id()) {}

  void subscribe() {
    if (filters.empty()) {
      std::lock_guard lock(mutex);
      ++subscribe_acks;
      subscribed = true;
      changed.notify_all();
      return;
    }
    auto topics = mqtt::string_collection::create(filters);
    mqtt::iasync_client::qos_collection qoss(filters.size(), qos);
    try {
      client.subscribe(topics, qoss, nullptr, *this);
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex);
      subscribe_error = e.what();
      changed.notify_all();
    }
  }

  void on_success(const mqtt::token&) override {
    std::lock_guard lock(mutex);
    ++subscribe_acks;
    subscribed = true;
    changed.notify_all();
  }

  void on_failure(const mqtt::token& tok) override {
    std::lock_guard lock(mutex);
    subscribe_error = "subscribe failed, return code " + std::to_string(tok.get_return_code());
    changed.notify_all();
  }
};

MqttProbe::MqttProbe(const std::string& url, const std::vector<std::string>& filters, int qos)
    : MqttProbe(url, filters, qos, Tls{}) {}

MqttProbe::MqttProbe(const std::string& url, const std::vector<std::string>& filters, int qos,
                     const Tls& tls)
    : m_impl(std::make_unique<Impl>(url, filters, qos)) {
  auto& impl = *m_impl;
  impl.client.set_message_callback([&impl](mqtt::const_message_ptr msg) {
    std::lock_guard lock(impl.mutex);
    impl.messages.push_back(Message{msg->get_topic(), msg->get_payload_str(), msg->is_retained()});
    impl.changed.notify_all();
  });
  // Called after the first connect and after every automatic reconnect (clean session, so the
  // subscriptions must be renewed each time).
  impl.client.set_connected_handler([&impl](const std::string&) { impl.subscribe(); });
  impl.client.set_connection_lost_handler([&impl](const std::string&) {
    std::lock_guard lock(impl.mutex);
    impl.subscribed = false;
  });

  auto opts = mqtt::connect_options_builder()
                  .clean_session(true)
                  .keep_alive_interval(std::chrono::seconds(10))
                  .connect_timeout(std::chrono::seconds(10))
                  .automatic_reconnect(std::chrono::milliseconds(100), std::chrono::seconds(1))
                  .finalize();
  if (paho_uri(url).rfind("ssl://", 0) == 0) {
    mqtt::ssl_options ssl;
    if (!tls.ca_cert.empty()) ssl.set_trust_store(tls.ca_cert.string());
    if (!tls.client_cert.empty()) ssl.set_key_store(tls.client_cert.string());
    if (!tls.client_key.empty()) ssl.set_private_key(tls.client_key.string());
    ssl.set_enable_server_cert_auth(true);
    ssl.set_verify(true);
    opts.set_ssl(ssl);
  }
  try {
    impl.client.connect(opts)->wait_for(k_event_timeout);
  } catch (const mqtt::exception& e) {
    throw std::runtime_error("MqttProbe: connect to " + url + " failed: " + e.what());
  }
  if (!impl.client.is_connected()) {
    throw std::runtime_error("MqttProbe: connect to " + url + " timed out");
  }
  std::unique_lock lock(impl.mutex);
  if (!impl.changed.wait_for(lock, k_event_timeout, [&] {
        return impl.subscribe_acks > 0 || !impl.subscribe_error.empty();
      })) {
    throw std::runtime_error("MqttProbe: no SUBACK from " + url);
  }
  if (impl.subscribe_acks == 0) {
    throw std::runtime_error("MqttProbe: " + url + ": " + impl.subscribe_error);
  }
}

MqttProbe::~MqttProbe() {
  try {
    m_impl->client.disconnect()->wait_for(std::chrono::seconds(5));
  } catch (const std::exception&) {
    // Broker already gone: nothing left to close cleanly.
  }
}

std::vector<MqttProbe::Message> MqttProbe::messages() const {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->messages;
}

std::size_t MqttProbe::count() const {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->messages.size();
}

bool MqttProbe::wait_for_count(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(m_impl->mutex);
  return m_impl->changed.wait_for(lock, timeout, [&] { return m_impl->messages.size() >= n; });
}

std::optional<MqttProbe::Message> MqttProbe::wait_for(const std::string& topic,
                                                      const std::string& needle,
                                                      std::chrono::milliseconds timeout) const {
  std::unique_lock lock(m_impl->mutex);
  std::optional<Message> found;
  m_impl->changed.wait_for(lock, timeout, [&] {
    for (const auto& m : m_impl->messages) {
      if (m.topic == topic && m.payload.find(needle) != std::string::npos) {
        found = m;
        return true;
      }
    }
    return false;
  });
  return found;
}

void MqttProbe::clear() {
  std::lock_guard lock(m_impl->mutex);
  m_impl->messages.clear();
}

bool MqttProbe::connected() const {
  return m_impl->client.is_connected();
}

bool MqttProbe::wait_connected(std::chrono::milliseconds timeout) const {
  return wait_until(
      [&] {
        // Never call into Paho while holding our mutex: Paho's receive thread holds its own
        // lock while it runs our message callback, which takes ours (lock-order inversion).
        bool subscribed = false;
        {
          std::lock_guard lock(m_impl->mutex);
          subscribed = m_impl->subscribed;
        }
        return subscribed && m_impl->client.is_connected();
      },
      timeout);
}

void MqttProbe::publish(const std::string& topic, const std::string& payload, bool retained) {
  if (!wait_connected()) throw std::runtime_error("MqttProbe: publish: not connected");
  try {
    auto tok = m_impl->client.publish(topic, payload.data(), payload.size(), 1, retained);
    if (!tok->wait_for(k_event_timeout)) {
      throw std::runtime_error("MqttProbe: publish to " + topic + ": no PUBACK");
    }
  } catch (const mqtt::exception& e) {
    throw std::runtime_error("MqttProbe: publish to " + topic + " failed: " + e.what());
  }
}

}  // namespace streamtrack::testing
