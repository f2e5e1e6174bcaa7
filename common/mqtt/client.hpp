#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/config/mqtt_settings.hpp"

// Our narrow face of Paho MQTT C++: connect with Last Will, keep reconnecting with backoff,
// publish with a delivery outcome, subscribe. Paho's own persistence is off: callers keep
// their own store of what is unsent.
namespace streamtrack::mqtt {

struct Message {
  std::string topic;
  std::string payload;
  int qos = 1;
  bool retained = false;
};

struct ClientOptions {
  config::MqttSettings settings;
  std::string client_id;
  // false: a persistent session (the broker keeps subscriptions and queued QoS 1 messages while
  // the client is away; under MQTT 5 for a day, SESSION_EXPIRY_INTERVAL 86400). true: none.
  bool clean_session = false;
  // For a persistent session (clean_session false) whose owner can send again everything it
  // has not seen acknowledged (the agent, from its outbox). After three connections in a row
  // that ended within stable_after() (the broker refusing what the resumed session holds, or
  // a client-id collision), the next connect starts a clean session: the publishes Paho's
  // session held are reported failed (Handlers::delivered) and the broker's queue for this
  // client (messages published to its subscriptions while it was away) is discarded. Under
  // MQTT 5 that clean start still asks for the same session expiry, so the new session
  // persists; under MQTT 3.1.1 it lasts only that connection (the next connect resumes one).
  // Leave it false (the default) for a client that must not lose what the broker queued for
  // it (the collector: broker-mode agents have already released those samples).
  bool clean_start_after_quick_drops = false;
  std::optional<Message> will{};
  int max_inflight = 256;
  std::vector<std::string> subscriptions{};  // (re)subscribed after every connect
  int subscription_qos = 1;
};

// What publish_checked() did with a message.
struct PublishResult {
  enum class Kind {
    sent,    // queued: its outcome arrives through Handlers::delivered with `id`
    retry,   // nothing sent, for now (not connected, client queue full): try again later
    reject,  // nothing sent, ever: the message itself is invalid (topic not UTF-8, ...)
  };
  Kind kind = Kind::retry;
  std::uint64_t id = 0;
  std::string error;
};

// Handlers run on Paho's or the reconnect thread: they must be thread-safe and must not block.
struct Handlers {
  std::function<void()> connected{};
  std::function<void(const std::string& reason)> disconnected{};  // lost, or an attempt failed
  std::function<void(Message)> message{};
  // Outcome of publish(id): ok once the broker acknowledged it (PUBACK for QoS 1).
  std::function<void(std::uint64_t id, bool ok, const std::string& error)> delivered{};
  // Instead of delivered(id, false, ...) when the broker refused the message for good (MQTT 5
  // PUBACK 0x90 topic name invalid, 0x95 packet too large, 0x99 payload format invalid): the
  // same message will never be accepted. Unset: such refusals go to delivered.
  std::function<void(std::uint64_t id, const std::string& reason)> refused{};
  // The broker answered a subscription of ClientOptions::subscriptions (after every connect):
  // ok, or refused (SUBACK failure, e.g. by its ACL) with the reason.
  std::function<void(const std::string& filter, bool ok, const std::string& reason)> subscribed{};
  // The broker keeps dropping the connection right after accepting it (three times in a row,
  // or MQTT 5 "session taken over"): most likely another client uses the same client id.
  std::function<void(const std::string& evidence)> collision{};
};

class Client {
 public:
  Client(ClientOptions options, Handlers handlers);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Starts connecting in the background and keeps reconnecting (exponential backoff with full
  // jitter between reconnect_min and reconnect_max) until stop(). The backoff is reset only by
  // a connection that stayed up for stable_after() (a connection the broker drops at once, as
  // when two clients share a client id, keeps the delays growing).
  void start();

  // Disconnects cleanly, first publishing `last_words` (if any) and waiting up to `timeout`
  // for it and for in-flight publishes. No handler runs after stop() returns.
  void stop(std::chrono::milliseconds timeout, const std::optional<Message>& last_words = {});

  bool connected() const;

  // Queues a publish; nullopt when nothing was sent (not connected, or refused: see
  // publish_checked). The outcome arrives through Handlers::delivered with the returned id.
  std::optional<std::uint64_t> publish(const Message& message);
  // Like publish(), telling a temporary refusal (retry) from a permanent one (reject).
  PublishResult publish_checked(const Message& message);

  // How long a connection must stay up before it counts as healthy (resets the backoff):
  // max(reconnect_max, keepalive).
  std::chrono::milliseconds stable_after() const;
  // Failures since the last healthy connection: what the next reconnect delay grows from.
  std::uint32_t reconnect_failures() const;

  // "mqtt://127.0.0.1:1883": what logs may show (never credentials).
  const std::string& server() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> m_impl;
};

}  // namespace streamtrack::mqtt
