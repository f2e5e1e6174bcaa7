#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace streamtrack {

// Exponential backoff with full jitter: after n consecutive failures the delay is uniform in
// [0, min(cap, base * 2^(n-1))]. reset() on success. Small (a few words): the agent keeps one
// per source, so its generator is a minimal-standard LCG, plenty for spreading retries, not a
// Mersenne Twister with 2.5 KB of state.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap,
          std::uint64_t seed = std::random_device{}())
      : m_base(base), m_cap(cap), m_rng(static_cast<std::minstd_rand::result_type>(seed)) {}

  // Records a failure and returns how long to wait before the next attempt.
  std::chrono::milliseconds next_delay() {
    if (m_failures < 62) ++m_failures;
    const auto ceiling = ceiling_for(m_failures);
    std::uniform_int_distribution<std::int64_t> pick(0, ceiling.count());
    return std::chrono::milliseconds{pick(m_rng)};
  }

  // The upper bound of the delay after `failures` consecutive failures.
  std::chrono::milliseconds ceiling_for(std::uint32_t failures) const {
    if (failures == 0) return std::chrono::milliseconds{0};
    auto ceiling = m_base;
    for (std::uint32_t i = 1; i < failures && ceiling < m_cap; ++i) ceiling *= 2;
    return ceiling < m_cap ? ceiling : m_cap;
  }

  void reset() { m_failures = 0; }
  std::uint32_t failures() const { return m_failures; }

 private:
  std::chrono::milliseconds m_base;
  std::chrono::milliseconds m_cap;
  std::uint32_t m_failures = 0;
  std::minstd_rand m_rng;
};

}  // namespace streamtrack
