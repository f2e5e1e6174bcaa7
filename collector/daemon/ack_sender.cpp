#include "collector/daemon/ack_sender.hpp"

#include <utility>

#include "common/daemon/log.hpp"
#include "common/wire/codec.hpp"

namespace streamtrack::collector::daemon {

AckSender::AckSender(const wire::Topics& topics, Publish publish, status::CollectorMetrics& metrics)
    : m_topics(topics), m_publish(std::move(publish)), m_metrics(metrics) {}

void AckSender::send(const std::string& agent, std::vector<std::int64_t> seqs) {
  const auto payload = wire::encode_ack({wire::to_ranges(seqs)});
  if (!m_publish(m_topics.ack(agent), payload)) {
    log::debug("ingest: ack not sent yet (client queue full or broker unreachable) agent=" +
               log::quote(agent));
    std::lock_guard lock(m_mutex);
    auto& pending = m_unsent[agent];
    // Bounded: beyond this the agent's ack_timeout resends the samples, as before.
    if (pending.size() + seqs.size() <= k_max_unsent_acks) {
      pending.insert(pending.end(), seqs.begin(), seqs.end());
    }
    return;
  }
  m_metrics.count_acks_sent(1);
}

void AckSender::resend_unsent() {
  std::map<std::string, std::vector<std::int64_t>> due;
  {
    std::lock_guard lock(m_mutex);
    due.swap(m_unsent);
  }
  for (auto& [agent, seqs] : due) send(agent, std::move(seqs));
}

}  // namespace streamtrack::collector::daemon
