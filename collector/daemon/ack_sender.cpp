#include "collector/daemon/ack_sender.hpp"

#include <algorithm>
#include <string_view>

#include "common/daemon/log.hpp"

namespace streamtrack::collector::daemon {

namespace {

// encode_ack writes {"ranges":[[first,last],[first,last]]}: no spaces, plain integers.
constexpr std::size_t k_ack_envelope_bytes = std::string_view(R"({"ranges":[]})").size();

std::size_t range_bytes(const std::pair<std::int64_t, std::int64_t>& r) {
  return std::to_string(r.first).size() + std::to_string(r.second).size() + 3;  // [a,b]
}

// What an agent's entry in the store of unsent acks costs beyond its ranges (map node,
// vector, string): an estimate, so that a flood of short names counts too.
constexpr std::size_t k_agent_entry_bytes = 128;
constexpr std::size_t k_range_bytes = sizeof(std::pair<std::int64_t, std::int64_t>);

std::int64_t seqs_in(const SeqRanges& ranges) {
  return wire::seqs_named(wire::Ack{ranges});
}

}  // namespace

std::vector<std::size_t> ack_message_ends(const SeqRanges& ranges, std::size_t max_bytes) {
  std::vector<std::size_t> ends;
  std::size_t bytes = k_ack_envelope_bytes;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    const bool first_of_message = ends.empty() ? i == 0 : i == ends.back();
    const auto more = range_bytes(ranges[i]) + (first_of_message ? 0 : 1);  // the comma
    if (!first_of_message && bytes + more > max_bytes) {
      ends.push_back(i);
      bytes = k_ack_envelope_bytes + range_bytes(ranges[i]);
    } else {
      bytes += more;
    }
  }
  if (!ranges.empty()) ends.push_back(ranges.size());
  return ends;
}

AckSender::AckSender(const wire::Topics& topics, Publish publish, status::CollectorMetrics& metrics,
                     Limits limits)
    : m_topics(topics), m_publish(std::move(publish)), m_metrics(metrics), m_limits(limits) {}

void AckSender::send(const std::string& agent, const std::vector<std::int64_t>& seqs) {
  deliver(agent, wire::to_ranges(seqs));
}

void AckSender::resend_unsent() {
  std::map<std::string, SeqRanges> due;
  {
    std::lock_guard lock(m_mutex);
    due.swap(m_unsent);
    m_unsent_bytes = 0;
  }
  for (auto& [agent, ranges] : due) deliver(agent, wire::merge_ranges(std::move(ranges)));
}

std::size_t AckSender::unsent_bytes() const {
  std::lock_guard lock(m_mutex);
  return m_unsent_bytes;
}

void AckSender::deliver(const std::string& agent, const SeqRanges& ranges) {
  const auto topic = m_topics.ack(agent);
  std::size_t begin = 0;
  for (const auto end : ack_message_ends(ranges, m_limits.max_message_bytes)) {
    const auto first = ranges.begin() + static_cast<std::ptrdiff_t>(begin);
    const auto last = ranges.begin() + static_cast<std::ptrdiff_t>(end);
    if (!m_publish(topic, wire::encode_ack({SeqRanges(first, last)}))) {
      log::debug("ingest: ack not sent yet (client queue full or broker unreachable) agent=" +
                 log::quote(agent));
      keep(agent, SeqRanges(first, ranges.end()));
      return;
    }
    m_metrics.count_acks_sent(1);
    begin = end;
  }
}

void AckSender::keep(const std::string& agent, SeqRanges ranges) {
  std::unique_lock lock(m_mutex);
  const auto known = m_unsent.find(agent);
  const auto cost = ranges.size() * k_range_bytes +
                    (known == m_unsent.end() ? agent.size() + k_agent_entry_bytes : 0);
  if (m_unsent_bytes + cost <= m_limits.max_unsent_bytes) {
    auto& pending = known == m_unsent.end() ? m_unsent[agent] : known->second;
    pending.insert(pending.end(), ranges.begin(), ranges.end());
    m_unsent_bytes += cost;
    return;
  }
  const auto seqs = seqs_in(ranges);
  m_dropped += static_cast<std::uint64_t>(seqs);
  const bool log_it = m_dropped_logged == 0 || m_dropped - m_dropped_logged >= 1000;
  if (log_it) m_dropped_logged = m_dropped;
  const auto dropped = m_dropped;
  const auto unsent = m_unsent_bytes;
  lock.unlock();
  m_metrics.count_acks_dropped(seqs);
  if (log_it) {
    log::warning(
        "ingest: unsent acks full, dropping an ack (its agent publishes the samples "
        "again) agent=" +
        log::quote(agent) + " seqs=" + std::to_string(seqs) +
        " dropped=" + std::to_string(dropped) + " unsent_bytes=" + std::to_string(unsent));
  }
}

}  // namespace streamtrack::collector::daemon
