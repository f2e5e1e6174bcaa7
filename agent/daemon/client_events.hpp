#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <utility>

// What the MQTT client (mqtt::LoopClient, driven by the agent's loop) reports to that loop: its
// handlers queue these inside LoopClient::service() and stop(), the loop takes them after.
namespace streamtrack::agent {

struct ClientEvent {
  enum class Kind { connected, disconnected, delivered, refused, message, subscribed, collision };
  Kind kind;
  std::uint64_t id = 0;
  bool ok = false;
  std::string text{};   // reason, error, or a message's payload
  std::string topic{};  // message, subscribed (the filter)
  bool retained = false;
};

// Events in arrival order. The loop's thread only.
class ClientEventQueue {
 public:
  void push(ClientEvent e) { m_events.push_back(std::move(e)); }
  std::deque<ClientEvent> take() { return std::exchange(m_events, {}); }

 private:
  std::deque<ClientEvent> m_events;
};

}  // namespace streamtrack::agent
