#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/status/metrics.hpp"
#include "common/wire/codec.hpp"
#include "common/wire/topics.hpp"

namespace streamtrack::collector::daemon {

// Inclusive seq ranges, sorted, as wire::to_ranges gives them.
using SeqRanges = std::vector<std::pair<std::int64_t, std::int64_t>>;

// `ranges` cut into consecutive runs whose wire::encode_ack fits `max_bytes` each; a range is
// never cut (one that alone exceeds `max_bytes`, which no seq below 2^53 does with 64 KiB, goes
// alone). Each element is the end index (exclusive) of one run.
std::vector<std::size_t> ack_message_ends(const SeqRanges& ranges, std::size_t max_bytes);

// Sends the acks of committed seqs to their agents (docs/mqtt.md, "Acknowledgements") and
// keeps those the MQTT client refused (its queue of unsent messages full, or the broker away)
// to send them again, so that agents do not publish the samples again after ack_timeout.
// Every message fits what an agent accepts (wire::decode_ack), however many and however
// scattered the seqs: one commit may take several messages. Thread-safe: the writers send,
// the main loop resends.
class AckSender {
 public:
  // Publishes one ack (QoS 1, not retained); false when the client refused it.
  using Publish = std::function<bool(const std::string& topic, const std::string& payload)>;

  struct Limits {
    // The largest ack an agent decodes.
    std::size_t max_message_bytes = wire::k_max_payload_bytes;
    // What the unsent acks of all agents together may take in memory (their ranges and agent
    // names), so that a flood of agent names cannot grow it without bound.
    std::size_t max_unsent_bytes = std::size_t{16} * 1024 * 1024;
    // What one agent's unsent acks may take (its ranges, as held, and its entry): a sixteenth
    // of max_unsent_bytes by default, so that one agent's flood (or a flood of forged samples
    // under one name) leaves room for the acks of every other agent.
    std::size_t max_unsent_bytes_per_agent = std::size_t{1} * 1024 * 1024;
  };

  AckSender(const wire::Topics& topics, Publish publish, status::CollectorMetrics& metrics,
            Limits limits);
  AckSender(const wire::Topics& topics, Publish publish, status::CollectorMetrics& metrics)
      : AckSender(topics, std::move(publish), metrics, Limits{}) {}

  // Acknowledges `seqs` (any order) of `agent`. What the client refuses is merged with what
  // that agent already holds unsent and kept for resend_unsent() within the agent's room: its
  // share (Limits::max_unsent_bytes_per_agent) and what the other agents leave of the whole
  // (Limits::max_unsent_bytes). Beyond it the highest seqs are dropped, each counted in
  // collector_acks_dropped_total, and logged. Dropping is safe: the agent publishes those
  // samples again after its ack_timeout, the collector stores each (agent, seq) once, and acks
  // them again.
  void send(const std::string& agent, const std::vector<std::int64_t>& seqs);
  // Sends again the acks the client refused, each agent's merged into as few messages as fit.
  void resend_unsent();
  // What the unsent acks take now, as counted against Limits::max_unsent_bytes.
  std::size_t unsent_bytes() const;

 private:
  // Publishes `ranges` of `agent` in messages that fit; keeps the rest once one is refused.
  void deliver(const std::string& agent, const SeqRanges& ranges);
  // Merges `ranges` into what `agent` already holds unsent and keeps, within the agent's room
  // (Limits), the lowest seqs; the rest is dropped and counted.
  void keep(const std::string& agent, const SeqRanges& ranges);

  struct Unsent {
    SeqRanges ranges;         // merged (sorted, disjoint, not adjacent)
    std::size_t charged = 0;  // what counts against the limits: its entry and ranges as held
  };

  const wire::Topics& m_topics;
  Publish m_publish;
  status::CollectorMetrics& m_metrics;
  const Limits m_limits;
  mutable std::mutex m_mutex;
  std::map<std::string, Unsent> m_unsent;  // agent -> committed seqs not acked yet
  std::size_t m_unsent_bytes = 0;
  std::uint64_t m_dropped = 0;  // seqs, since start
  std::uint64_t m_dropped_logged = 0;
};

}  // namespace streamtrack::collector::daemon
