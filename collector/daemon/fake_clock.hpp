#pragma once

#include <memory>

#include "common/util/time.hpp"

namespace streamtrack::collector::daemon {

// A wall clock that starts at a chosen instant and then runs at the real rate; thread-safe.
class OffsetClock final : public Clock {
 public:
  explicit OffsetClock(TimePoint start);
  TimePoint now() const override;
  std::chrono::steady_clock::time_point steady_now() const override;

 private:
  TimePoint m_start;
  std::chrono::steady_clock::time_point m_steady_start;
};

// The collector's wall clock: the system clock, or, for integration tests only, an
// OffsetClock starting at $STREAMTRACK_FAKE_NOW (RFC 3339). Throws std::runtime_error when the
// variable is set but unreadable.
std::unique_ptr<Clock> clock_from_environment();

}  // namespace streamtrack::collector::daemon
