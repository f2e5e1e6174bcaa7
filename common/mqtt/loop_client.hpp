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

class LoopClient {
 public:
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
  // for it and for every publish in flight, then disconnects cleanly. Handlers run inside it
  // (the outcomes that arrive); none runs after it returns.
  void stop(std::chrono::milliseconds timeout, const std::optional<Message>& last_words = {});

  // Thread-safe.
  bool connected() const;

  // Queues a publish; its outcome arrives through Handlers::delivered (or refused) in a later
  // service(). retry: not connected, or the client cannot take it now; reject: the message
  // itself is invalid (topic not UTF-8, wildcards, too large for the protocol). Thread-safe.
  PublishResult publish_checked(const Message& message);
  std::optional<std::uint64_t> publish(const Message& message);

  // What the owner's loop waits for before the next service(): the socket (-1 while there is
  // none) to be readable, or writable when `write` is set, and at the latest `until`.
  struct Wait {
    int fd = -1;
    bool write = false;
    std::chrono::steady_clock::time_point until{};
  };
  Wait wait() const;

  // Reads and writes what the socket allows without blocking, keeps the connection alive
  // (keepalive pings, connect timeout, reconnects when due) and runs the handlers of what
  // happened. Never throws for anything the broker or the network does. A connect attempt
  // resolves the broker's host name here (getaddrinfo blocks on a slow DNS server); the TCP
  // connect and the TLS handshake do not block.
  void service();

  // As mqtt::Client.
  std::chrono::milliseconds stable_after() const;
  std::uint32_t reconnect_failures() const;
  const std::string& server() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> m_impl;
};

}  // namespace streamtrack::mqtt
