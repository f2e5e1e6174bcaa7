#include "agent/outbox/memory_fallback.hpp"

#include <utility>

#include "common/wire/codec.hpp"

namespace streamtrack::agent::outbox {

std::int64_t MemoryFallback::take_dropped() {
  return std::exchange(m_dropped, 0);
}

std::int64_t MemoryFallback::keep(std::vector<Sample> batch, const Limits& limits) {
  Batch b{std::move(batch), 0};
  for (const auto& s : b.samples) {
    b.bytes += static_cast<std::int64_t>(wire::encode_sample(s).size());
  }
  m_count += static_cast<std::int64_t>(b.samples.size());
  m_bytes += b.bytes;
  m_batches.push_back(std::move(b));
  std::int64_t dropped = 0;
  while ((m_count > limits.max_rows || m_bytes > limits.max_bytes) && !m_batches.empty()) {
    const bool newest = limits.policy == DropPolicy::drop_newest;
    auto& victim = newest ? m_batches.back() : m_batches.front();
    const auto n = static_cast<std::int64_t>(victim.samples.size());
    m_count -= n;
    m_bytes -= victim.bytes;
    dropped += n;
    if (newest) {
      m_batches.pop_back();
    } else {
      m_batches.pop_front();
    }
  }
  m_dropped += dropped;
  return dropped;
}

void MemoryFallback::pop() {
  m_count -= static_cast<std::int64_t>(m_batches.front().samples.size());
  m_bytes -= m_batches.front().bytes;
  m_batches.pop_front();
}

}  // namespace streamtrack::agent::outbox
