#include "collector/alerts/timed_store.hpp"

namespace streamtrack::collector::alerts {

void WriteTimer::record(std::chrono::steady_clock::duration d) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  auto seen = m_max_us.load();
  while (us > seen && !m_max_us.compare_exchange_weak(seen, us)) {
  }
}

std::optional<double> WriteTimer::take() {
  const auto us = m_max_us.exchange(-1);
  if (us < 0) return std::nullopt;
  return static_cast<double>(us) / 1e6;
}

}  // namespace streamtrack::collector::alerts
