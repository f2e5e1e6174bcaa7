#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

namespace streamtrack::collector::alerts {

// The slowest committed batch write since the last take(), for the write_latency rule; the
// daemon's instrumented store records each committed write. Thread-safe.
class WriteTimer {
 public:
  void record(std::chrono::steady_clock::duration d);
  // Seconds, or nullopt when nothing committed since the last call.
  std::optional<double> take();

 private:
  std::atomic<std::int64_t> m_max_us{-1};
};

}  // namespace streamtrack::collector::alerts
