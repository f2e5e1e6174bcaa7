#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/config/agent_config.hpp"
#include "agent/outbox/memory_fallback.hpp"
#include "agent/outbox/outbox.hpp"
#include "agent/publish/publisher.hpp"
#include "common/http/metrics.hpp"
#include "common/util/backoff.hpp"

// The daemon's writes to the outbox, batched so that a burst costs one transaction and a
// failing disk never stops the loop.
namespace streamtrack::agent {

class OutboxWriter {
 public:
  using Steady = std::chrono::steady_clock;
  // Samples of polls that finished are stored together once no request is in flight (the polls
  // that started together have finished) or this long after the first, so a burst of polls
  // costs one transaction. Nothing is published before it is stored.
  static constexpr std::chrono::milliseconds k_group_commit_delay{50};
  // Delivered seqs are deleted in one transaction per this delay or per k_delete_batch seqs
  // instead of one per PUBACK or ack: a sample still stored after its delivery is at worst sent
  // again after a crash, and the collector drops the duplicate.
  static constexpr std::chrono::milliseconds k_delete_delay{200};
  static constexpr std::int64_t k_delete_batch = 1024;

  // `config`'s buffer settings are read at each write (a reload changes them). Every argument
  // must outlive the writer.
  OutboxWriter(outbox::Outbox& outbox, const AgentConfig& config,
               streamtrack::http::AgentMetrics& metrics);

  // The samples of one finished poll, stored by store_if_due().
  void add(std::vector<Sample> batch);
  // Stores the samples add() collected once due (`requests_in_flight` false, or
  // k_group_commit_delay after the first), and retries a failed write once its backoff passed.
  // While the outbox cannot be written, samples wait in memory within the buffer limits (the
  // oldest or newest dropped and counted beyond them).
  void store_if_due(bool requests_in_flight);
  // Stores everything collected, now (shutdown).
  void store_now();
  // Takes the seqs `publisher` delivered and deletes them when due, or at once with `now`; a
  // failed delete gives them back to the publisher.
  void remove_delivered(publish::Publisher& publisher, bool now);
  // When one of the calls above has work to do, if any: the loop wakes up by then.
  std::optional<Steady::time_point> next_due() const;

  // At shutdown, after a last store_now(): counts the samples still in memory as dropped and
  // logs them as lost (their seqs were never given out).
  void give_up_unsaved();

  // Whether writes fail at the moment. Any thread.
  bool write_failing() const { return m_write_failing.load(); }
  // Samples held in memory, and dropped there, while writes fail.
  std::int64_t unsaved() const { return m_unsaved.count(); }
  std::int64_t unsaved_dropped() const { return m_unsaved.dropped(); }

 private:
  void store(std::vector<Sample> batch);
  void keep_in_memory(std::vector<Sample> batch);
  void stored(const outbox::AppendReport& report);
  void write_failed(const std::string& error);
  void retry_unsaved();

  outbox::Outbox& m_outbox;
  const AgentConfig& m_config;
  streamtrack::http::AgentMetrics& m_metrics;
  outbox::MemoryFallback m_unsaved;
  Backoff m_write_backoff;
  std::atomic<bool> m_write_failing{false};
  Steady::time_point m_next_write_retry{};
  std::vector<Sample> m_finished;
  Steady::time_point m_finished_since{};
  std::vector<std::pair<std::int64_t, std::int64_t>> m_done;
  std::int64_t m_done_count = 0;
  Steady::time_point m_done_since{};
};

}  // namespace streamtrack::agent
