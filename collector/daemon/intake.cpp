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
  queue_items(std::move(classified.items));
}

void Intake::flush_reject_log() {
  for (const auto& line : m_reject_log.flush(ingest::RejectLog::Clock::now())) log::info(line);
}

void Intake::queue_items(std::vector<ingest::Item> items) {
  if (m_alerting) {
    for (const auto& item : items) alerts::observe(*m_alerting, item);
  }
  const auto count = items.size();
  if (m_queue.push_all(std::move(items)) == count) return;
  if (m_queue.closed()) return;  // shutting down: unacknowledged, so its agent resends it
  const auto dropped = m_queue.dropped();
  if (m_dropped_logged.load() == 0 || dropped - m_dropped_logged.load() >= 1000) {
    m_dropped_logged = dropped;
    log::warning("ingest: backlog full, leaving samples unacknowledged dropped=" +
                 std::to_string(dropped) + " pending=" + std::to_string(m_queue.pending()) +
                 " pending_bytes=" + std::to_string(m_queue.pending_bytes()));
  }
}

}  // namespace streamtrack::collector::daemon
