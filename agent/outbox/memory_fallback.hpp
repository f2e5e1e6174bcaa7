#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "agent/config/agent_config.hpp"
#include "common/wire/sample.hpp"

namespace streamtrack::agent::outbox {

// Samples that could not be written to the outbox (full disk, read-only file system), held in
// memory until a write succeeds again. Bounded by rows and by bytes (the encoded size, as in
// the outbox): what does not fit is dropped by the policy (drop_oldest: whole oldest batches;
// drop_newest: the batch just kept), and counted. Dropped samples never got a seq: the caller
// passes take_dropped() to the next Outbox::append, which skips that many seqs (the gap the
// collector sees) and counts them as dropped_unsaved.
class MemoryFallback {
 public:
  struct Limits {
    std::int64_t max_rows = 0;
    std::int64_t max_bytes = 0;
    DropPolicy policy = DropPolicy::drop_oldest;
  };

  bool empty() const { return m_batches.empty(); }
  std::int64_t count() const { return m_count; }
  std::int64_t bytes() const { return m_bytes; }
  // Dropped and not yet handed to the outbox (see take_dropped).
  std::int64_t dropped() const { return m_dropped; }
  std::int64_t take_dropped();

  // Keeps one poll round; returns how many samples were dropped to stay within `limits`.
  std::int64_t keep(std::vector<Sample> batch, const Limits& limits);

  // The oldest batch kept (precondition: !empty()), and its removal once written.
  std::vector<Sample>& front() { return m_batches.front().samples; }
  void pop();

 private:
  struct Batch {
    std::vector<Sample> samples;
    std::int64_t bytes = 0;
  };
  std::deque<Batch> m_batches;
  std::int64_t m_count = 0;
  std::int64_t m_bytes = 0;
  std::int64_t m_dropped = 0;
};

}  // namespace streamtrack::agent::outbox
