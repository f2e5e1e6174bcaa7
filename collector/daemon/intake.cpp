#include "collector/daemon/intake.hpp"

#include <string>
#include <utility>

#include "collector/alerts/wiring.hpp"
#include "common/daemon/log.hpp"

namespace streamtrack::collector::daemon {

void Intake::on_message(mqtt::Message m) {
  if (m_discovery) {
    if (m_discovery->config_seen(m.topic, m.payload, m_clock.now())) return;
    if (const auto parsed = m_topics.parse(m.topic);
        parsed && parsed->kind == wire::TopicKind::status) {
      m_discovery->agent_status(parsed->agent, m.payload);
    }
  }
  auto classified = ingest::classify_message(m_topics, std::move(m.topic), std::move(m.payload),
                                             m_clock.now(), m_window);
  if (classified.frame) m_metrics.count_frame(static_cast<std::int64_t>(classified.frame_samples));
  for (const auto& line : m_reject_log.record(classified.items, ingest::RejectLog::Clock::now())) {
    log::info(line);
  }
  for (auto& item : classified.items) queue_item(std::move(item));
}

void Intake::flush_reject_log() {
  for (const auto& line : m_reject_log.flush(ingest::RejectLog::Clock::now())) log::info(line);
}

void Intake::queue_item(ingest::Item item) {
  if (m_alerting) alerts::observe(*m_alerting, item);
  if (m_queue.push(std::move(item))) return;
  if (m_queue.closed()) return;  // shutting down: unacknowledged, so its agent resends it
  const auto dropped = m_queue.dropped();
  if (dropped == 1 || dropped - m_dropped_logged.load() >= 1000) {
    m_dropped_logged = dropped;
    log::warning("ingest: backlog full, leaving samples unacknowledged dropped=" +
                 std::to_string(dropped) + " pending=" + std::to_string(m_queue.pending()) +
                 " pending_bytes=" + std::to_string(m_queue.pending_bytes()));
  }
}

}  // namespace streamtrack::collector::daemon
