#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/status/metrics.hpp"
#include "common/wire/topics.hpp"

namespace streamtrack::collector::daemon {

// Sends the acks of committed seqs to their agents (docs/mqtt.md, "Acknowledgements") and
// keeps those the MQTT client refused (its queue of unsent messages full, or the broker away)
// to send them again, so that agents do not publish the samples again after ack_timeout.
// Thread-safe: the writers send, the main loop resends.
class AckSender {
 public:
  // Publishes one ack (QoS 1, not retained); false when the client refused it.
  using Publish = std::function<bool(const std::string& topic, const std::string& payload)>;

  AckSender(const wire::Topics& topics, Publish publish, status::CollectorMetrics& metrics);

  // Acknowledges `seqs` of `agent`; what the client refuses is kept for resend_unsent().
  void send(const std::string& agent, std::vector<std::int64_t> seqs);
  // Sends again the acks the client refused, each agent's as one message.
  void resend_unsent();

 private:
  const wire::Topics& m_topics;
  Publish m_publish;
  status::CollectorMetrics& m_metrics;
  static constexpr std::size_t k_max_unsent_acks = 1'000'000;  // seqs per agent
  std::mutex m_mutex;
  std::map<std::string, std::vector<std::int64_t>> m_unsent;  // agent -> committed seqs
};

}  // namespace streamtrack::collector::daemon
