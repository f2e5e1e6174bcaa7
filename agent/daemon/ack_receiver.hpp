#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "agent/config/agent_config.hpp"
#include "agent/daemon/client_events.hpp"
#include "agent/publish/publisher.hpp"
#include "common/http/metrics.hpp"
#include "common/http/status_server.hpp"
#include "common/wire/topics.hpp"

// The agent's side of the collector's acks (delivery = committed). An ack is evidence, not an
// order: it is checked against what this agent published and holds before the publisher
// applies it, and what is ignored is counted by reason (streamtrack_agent_acks_ignored_total)
// and logged.
namespace streamtrack::agent {

class AckReceiver {
 public:
  using Steady = std::chrono::steady_clock;

  // `rows` tells the last seq given out. Every argument must outlive the receiver.
  AckReceiver(const AgentConfig& config, const wire::Topics& topics, publish::Publisher& publisher,
              const publish::RowSource& rows, streamtrack::http::AgentMetrics& metrics);

  // A message on a subscribed topic: an ack, applied unless it is malformed, on a wrong topic,
  // retained, names seqs beyond the last one given out, or arrives while another agent seems
  // to use this id.
  void on_message(const ClientEvent& message);
  // The broker's answer to the ack subscription.
  void on_subscribed(bool ok, const std::string& filter, const std::string& reason);
  // A PUBACK: with committed delivery, the wait for an ack starts unless one is awaited.
  void on_puback(Steady::time_point now);
  // Evidence that another client uses this id: with committed delivery, no ack is applied for
  // `hold` (an ack for seq N may be for its sample N; ours stay and are sent again).
  void on_collision(Steady::time_point now, std::chrono::milliseconds hold);

  // /readyz's "acks" check: fails when the broker refused the ack subscription, or when no ack
  // came for ack_timeout after a PUBACK. Any thread.
  streamtrack::http::CheckResult check() const;

 private:
  void ignore(std::string_view reason, std::int64_t seqs, const std::string& detail);
  void set_subscription(bool ok, std::string detail);

  const AgentConfig& m_config;
  const wire::Topics& m_topics;
  publish::Publisher& m_publisher;
  const publish::RowSource& m_rows;
  streamtrack::http::AgentMetrics& m_metrics;
  mutable std::mutex m_subscription_mutex;
  streamtrack::http::CheckResult m_subscription{false, "not subscribed yet"};
  // Steady-clock nanoseconds of the first PUBACK not followed by an ack yet; 0 when none.
  std::atomic<std::int64_t> m_waiting_since_ns{0};
  bool m_first_ack_logged = false;
  Steady::time_point m_identity_conflict_until{};  // acks are not applied before this
};

}  // namespace streamtrack::agent
