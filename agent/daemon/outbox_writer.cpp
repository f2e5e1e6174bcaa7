#include "agent/daemon/outbox_writer.hpp"

#include <algorithm>
#include <iterator>

#include "common/daemon/log.hpp"
#include "common/wire/codec.hpp"

namespace streamtrack::agent {

namespace {

using std::chrono::milliseconds;

const char* policy_name(DropPolicy p) {
  return p == DropPolicy::drop_newest ? "drop_newest" : "drop_oldest";
}

}  // namespace

OutboxWriter::OutboxWriter(outbox::Outbox& outbox, const AgentConfig& config,
                           streamtrack::status::AgentMetrics& metrics)
    : m_outbox(outbox),
      m_config(config),
      m_metrics(metrics),
      m_write_backoff(milliseconds{500}, milliseconds{30'000}) {}

void OutboxWriter::add(std::vector<Sample> batch) {
  if (m_finished.empty()) m_finished_since = Steady::now();
  std::move(batch.begin(), batch.end(), std::back_inserter(m_finished));
}

void OutboxWriter::store_if_due(bool requests_in_flight) {
  if (!m_finished.empty() &&
      (!requests_in_flight || Steady::now() >= m_finished_since + k_group_commit_delay)) {
    store(std::exchange(m_finished, {}));
  }
  if (!m_unsaved.empty() && Steady::now() >= m_next_write_retry) retry_unsaved();
}

void OutboxWriter::store_now() {
  if (!m_finished.empty()) store(std::exchange(m_finished, {}));
  if (!m_unsaved.empty()) retry_unsaved();
}

std::optional<OutboxWriter::Steady::time_point> OutboxWriter::next_due() const {
  std::optional<Steady::time_point> next;
  const auto earliest = [&next](Steady::time_point t) { next = next ? std::min(*next, t) : t; };
  if (!m_unsaved.empty()) earliest(m_next_write_retry);
  if (!m_done.empty()) earliest(m_done_since + k_delete_delay);
  if (!m_finished.empty()) earliest(m_finished_since + k_group_commit_delay);
  return next;
}

void OutboxWriter::store(std::vector<Sample> batch) {
  if (!m_unsaved.empty()) {
    keep_in_memory(std::move(batch));
    return;
  }
  auto result = m_outbox.append(batch, m_unsaved.dropped());
  if (!result) {
    write_failed(result.error());
    keep_in_memory(std::move(batch));
    return;
  }
  m_unsaved.take_dropped();
  stored(*result);
}

void OutboxWriter::keep_in_memory(std::vector<Sample> batch) {
  const auto dropped =
      m_unsaved.keep(std::move(batch),
                     {m_config.buffer_max_rows, m_config.buffer_max_bytes, m_config.buffer_policy});
  if (dropped == 0) return;
  m_metrics.count_outbox_drops(policy_name(m_config.buffer_policy), dropped);
  log::warning("outbox: unsaved samples over the limits, dropped samples count=" +
               std::to_string(dropped) + " policy=" + policy_name(m_config.buffer_policy) +
               " in_memory=" + std::to_string(m_unsaved.count()) +
               " bytes=" + std::to_string(m_unsaved.bytes()));
}

void OutboxWriter::stored(const outbox::AppendReport& r) {
  const auto dropped = r.dropped_newest + r.dropped_oldest;
  if (dropped > 0) {
    const auto policy = r.dropped_newest > 0 ? DropPolicy::drop_newest : DropPolicy::drop_oldest;
    m_metrics.count_outbox_drops(policy_name(policy), dropped);
    log::warning("outbox: full, dropped samples count=" + std::to_string(dropped) + " policy=" +
                 policy_name(policy) + " total=" + std::to_string(m_outbox.stats().dropped()) +
                 " depth=" + std::to_string(m_outbox.depth()));
  }
  m_metrics.set_outbox(m_outbox.depth(), m_outbox.bytes());
  log::debug("outbox: stored count=" + std::to_string(r.stored) +
             " last_seq=" + std::to_string(r.last_seq));
}

void OutboxWriter::write_failed(const std::string& error) {
  if (!m_write_failing) {
    log::error("outbox: write failed, keeping samples in memory and retrying error=" +
               log::quote(error));
  }
  m_write_failing = true;
  m_next_write_retry = Steady::now() + m_write_backoff.next_delay();
}

void OutboxWriter::retry_unsaved() {
  std::int64_t written = 0;
  while (!m_unsaved.empty()) {
    auto result = m_outbox.append(m_unsaved.front(), m_unsaved.dropped());
    if (!result) {
      write_failed(result.error());
      return;
    }
    m_unsaved.take_dropped();
    written += result->stored;
    stored(*result);
    m_unsaved.pop();
  }
  m_write_failing = false;
  m_write_backoff.reset();
  log::notice("outbox: writes recovered stored=" + std::to_string(written));
}

void OutboxWriter::remove_delivered(publish::Publisher& publisher, bool now) {
  for (auto& range : publisher.take_done()) {
    if (m_done.empty()) m_done_since = Steady::now();
    m_done_count += range.second - range.first + 1;
    m_done.push_back(range);
  }
  if (m_done.empty()) return;
  if (!now && m_done_count < k_delete_batch && Steady::now() < m_done_since + k_delete_delay) {
    return;
  }
  const auto done = wire::merge_ranges(std::exchange(m_done, {}));
  m_done_count = 0;
  auto removed = m_outbox.remove(done);
  if (!removed) {
    log::error("outbox: delete failed, will retry error=" + log::quote(removed.error()));
    publisher.return_done(done);
    return;
  }
  m_metrics.count_acks(m_config.delivery == Delivery::broker ? "puback" : "committed", *removed);
  m_metrics.set_outbox(m_outbox.depth(), m_outbox.bytes());
}

void OutboxWriter::give_up_unsaved() {
  if (m_unsaved.empty()) return;
  m_metrics.count_outbox_drops(policy_name(m_config.buffer_policy), m_unsaved.count());
  log::error("agent: LOST samples held in memory count=" + std::to_string(m_unsaved.count()) +
             " (the outbox could not be written until shutdown; their seqs were never "
             "given out)");
}

}  // namespace streamtrack::agent
