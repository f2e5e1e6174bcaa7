#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

#include "collector/store/store.hpp"

namespace streamtrack::collector::alerts {

// The slowest committed batch write since the last take(); thread-safe.
class WriteTimer {
 public:
  void record(std::chrono::steady_clock::duration d);
  // Seconds, or nullopt when nothing committed since the last call.
  std::optional<double> take();

 private:
  std::atomic<std::int64_t> m_max_us{-1};
};

// A Store that times the writes of another for the write_latency rule.
class TimedStore final : public store::Store {
 public:
  TimedStore(store::Store& inner, WriteTimer& timer) : m_inner(inner), m_timer(timer) {}
  store::WriteOutcome write(const std::vector<ingest::Item>& batch) override;

 private:
  store::Store& m_inner;
  WriteTimer& m_timer;
};

}  // namespace streamtrack::collector::alerts
