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
  std::map<std::string, Unsent> due;
  {
    std::lock_guard lock(m_mutex);
    due.swap(m_unsent);
    m_unsent_bytes = 0;
  }
  for (const auto& [agent, unsent] : due) deliver(agent, unsent.ranges);
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

void AckSender::keep(const std::string& agent, const SeqRanges& ranges) {
  std::unique_lock lock(m_mutex);
  const auto known = m_unsent.find(agent);
  SeqRanges held = ranges;
  std::size_t charged_before = 0;
  if (known != m_unsent.end()) {
    held.insert(held.end(), known->second.ranges.begin(), known->second.ranges.end());
    charged_before = known->second.charged;
  }
  held = wire::merge_ranges(std::move(held));
  // The room of this agent: its share, and no more than the other agents leave of the whole.
  const auto others = m_unsent_bytes - charged_before;
  const auto room =
      std::min(m_limits.max_unsent_bytes_per_agent,
               m_limits.max_unsent_bytes - std::min(others, m_limits.max_unsent_bytes));
  const auto entry = agent.size() + k_agent_entry_bytes;
  const auto fitting = room > entry ? (room - entry) / k_range_bytes : 0;
  SeqRanges dropped_ranges;
  if (held.size() > fitting) {
    dropped_ranges.assign(held.begin() + static_cast<std::ptrdiff_t>(fitting), held.end());
    held.resize(fitting);
  }
  held.shrink_to_fit();
  std::size_t agent_bytes = 0;
  if (held.empty()) {
    if (known != m_unsent.end()) m_unsent.erase(known);
  } else {
    auto& pending = known == m_unsent.end() ? m_unsent[agent] : known->second;
    pending.ranges = std::move(held);
    pending.charged = entry + pending.ranges.capacity() * k_range_bytes;
    agent_bytes = pending.charged;
  }
  m_unsent_bytes = others + agent_bytes;
  if (dropped_ranges.empty()) return;

  const auto seqs = seqs_in(dropped_ranges);
  m_dropped += static_cast<std::uint64_t>(seqs);
  const bool log_it = m_dropped_logged == 0 || m_dropped - m_dropped_logged >= 1000;
  if (log_it) m_dropped_logged = m_dropped;
  const auto dropped = m_dropped;
  const auto unsent = m_unsent_bytes;
  lock.unlock();
  m_metrics.count_acks_dropped(seqs);
  if (log_it) {
    log::warning(
        "ingest: no room for more unsent acks of this agent, dropping its highest seqs (the "
        "agent publishes those samples again) agent=" +
        log::quote(agent) + " seqs=" + std::to_string(seqs) + " dropped=" +
        std::to_string(dropped) + " agent_unsent_bytes=" + std::to_string(agent_bytes) +
        " unsent_bytes=" + std::to_string(unsent));
  }
}

}  // namespace streamtrack::collector::daemon
