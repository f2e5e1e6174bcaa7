#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/mqtt/client.hpp"

// The same narrow face as mqtt::Client (same options, handlers and outcomes), over libmosquitto
// and without threads of its own: its owner's event loop polls socket() and calls service(),
// and every handler runs inside service() or stop(), on the owner's thread. A publish costs no
// thread hand-off (Paho's async client passes each message and each PUBACK between two threads
// of its own and the caller's).
//
// Delivery outcomes: one per publish id, as with mqtt::Client. PUBACK => delivered ok (MQTT 5
// reasons 0x90, 0x95, 0x99 => refused, other reasons >= 0x80 => failed); when the connection
// ends, every publish still awaiting its PUBACK is reported failed at once (its owner keeps
// the message and sends it again: nothing is resent from a session of this client's own).
namespace streamtrack::mqtt {

// Whether this libmosquitto version takes the MQTT 5 session expiry interval the way
// LoopClient hands it over (through the blocking connect call, see ARCHITECTURE.md): 2.0.x,
// where MqttClient/Loop.AnMqtt5SessionOutlivesTheConnection passes. With any other version a
// persistent MQTT 5 session connects without it (the broker ends the session with the
// connection) and a warning says so.
bool session_expiry_supported(int major, int minor, int revision);

class LoopClient {
 public:
  // service() reads at most this many times (each one packet or more) from the socket, so a
  // flood of incoming packets cannot hold its owner's loop.
  static constexpr int k_max_reads_per_service = 256;

  LoopClient(ClientOptions options, Handlers handlers);
  // Closes the connection without a DISCONNECT (the broker publishes the Last Will) unless
  // stop() ran; runs no handler.
  ~LoopClient();
  LoopClient(const LoopClient&) = delete;
  LoopClient& operator=(const LoopClient&) = delete;

  // Connecting starts at the next service() and goes on (exponential backoff with full jitter
  // between reconnect_min and reconnect_max, reset only by a connection that stayed up for
  // stable_after()) until stop().
  void start();

  // Publishes `last_words` (if any) and waits, driving the connection itself, up to `timeout`
  // for it and for every publish in flight, then disconnects cleanly. Every publish still
  // awaiting its PUBACK then is reported failed (as when the connection ends). Handlers run
  // inside it (the outcomes that arrive); none runs after it returns. A start() afterwards
  // begins as on a new client (the publish ids go on counting).
  void stop(std::chrono::milliseconds timeout, const std::optional<Message>& last_words = {});

  // Thread-safe.
  bool connected() const;

  // Queues a publish; its outcome arrives through Handlers::delivered (or refused) in a later
  // service(). retry: not connected, or the client cannot take it now; reject: the message
  // itself is invalid (topic not UTF-8, wildcards, too large for the protocol). Thread-safe.
  PublishResult publish_checked(const Message& message);
  std::optional<std::uint64_t> publish(const Message& message);

  // What the owner's loop waits for before the next service(): the socket (-1 while there is
  // none) to be readable, or writable when `write` is set, and at the latest `until` (now when
  // the last service() left data unread).
  struct Wait {
    int fd = -1;
    bool write = false;
    std::chrono::steady_clock::time_point until{};
  };
  Wait wait() const;

  // Reads (until the socket is empty, at most k_max_reads_per_service times; not at all with
  // `readable` false, which says the owner's wait saw nothing to read, unless the last read
  // stopped at that bound) and writes what the socket allows without blocking, keeps the connection
  // alive (keepalive pings, connect timeout, reconnects when due) and runs the handlers of what
  // happened. Never throws for anything the broker or the network does. A connect attempt
  // resolves the broker's host name here (getaddrinfo blocks on a slow DNS server); the TCP
  // connect and the TLS handshake do not block.
  void service(bool readable = true);

  // As mqtt::Client.
  std::chrono::milliseconds stable_after() const;
  std::uint32_t reconnect_failures() const;
  const std::string& server() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> m_impl;
};

}  // namespace streamtrack::mqtt
