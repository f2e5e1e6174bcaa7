#pragma once

#include <atomic>
#include <cstdint>

#include "collector/alerts/service.hpp"
#include "collector/homeassistant/discovery.hpp"
#include "collector/ingest/ingest.hpp"
#include "collector/ingest/reject_log.hpp"
#include "common/mqtt/client.hpp"
#include "common/status/metrics.hpp"
#include "common/util/time.hpp"
#include "common/wire/topics.hpp"

namespace streamtrack::collector::daemon {

// The MQTT side of ingest: each message the collector receives, on Paho's thread. Home
// Assistant discovery configs go to Discovery only (they are not samples, and would be
// rejects); agent status also reaches Discovery; everything else is classified
// (ingest::classify_message), shown to the alerting, and queued for the writers.
// `alerting` and `discovery` may be null (off); every reference outlives the Intake.
class Intake {
 public:
  Intake(const wire::Topics& topics, const ingest::TimeWindow& window, const Clock& clock,
         ingest::IngestQueue& queue, status::CollectorMetrics& metrics,
         alerts::AlertService* alerting, homeassistant::Discovery* discovery)
      : m_topics(topics),
        m_window(window),
        m_clock(clock),
        m_queue(queue),
        m_metrics(metrics),
        m_alerting(alerting),
        m_discovery(discovery) {}

  // Never blocks. A message the full queue cannot take is left unacknowledged (its agent
  // publishes it again after ack_timeout), logged on the first drop and every 1000 after.
  void on_message(mqtt::Message m);

  // For the main loop, about once a second: logs the "rejects suppressed" lines of the agents
  // whose interval has ended (ingest::RejectLog::flush).
  void flush_reject_log();

 private:
  // Queues a message's items together (a frame's elements form no batch of their own).
  void queue_items(std::vector<ingest::Item> items);

  const wire::Topics& m_topics;
  const ingest::TimeWindow& m_window;
  const Clock& m_clock;
  ingest::IngestQueue& m_queue;
  status::CollectorMetrics& m_metrics;
  alerts::AlertService* m_alerting;
  homeassistant::Discovery* m_discovery;
  std::atomic<std::uint64_t> m_dropped_logged{0};
  // Reject log lines, summarised per message and rate-limited per agent (on_message records,
  // the main loop flushes).
  ingest::RejectLog m_reject_log;
};

}  // namespace streamtrack::collector::daemon
