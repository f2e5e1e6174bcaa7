#include "collector/daemon/fake_clock.hpp"

#include <cstdlib>
#include <stdexcept>

namespace streamtrack::collector::daemon {

namespace {

class SystemClockRef final : public Clock {
 public:
  TimePoint now() const override { return SystemClock::instance().now(); }
  std::chrono::steady_clock::time_point steady_now() const override {
    return SystemClock::instance().steady_now();
  }
};

}  // namespace

OffsetClock::OffsetClock(TimePoint start)
    : m_start(start), m_steady_start(std::chrono::steady_clock::now()) {}

TimePoint OffsetClock::now() const {
  return m_start + std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - m_steady_start);
}

std::chrono::steady_clock::time_point OffsetClock::steady_now() const {
  return std::chrono::steady_clock::now();
}

std::unique_ptr<Clock> clock_from_environment() {
  const char* fake = std::getenv("STREAMTRACK_FAKE_NOW");
  if (!fake || !*fake) return std::make_unique<SystemClockRef>();
  const auto start = parse_rfc3339(fake);
  if (!start) {
    throw std::runtime_error(std::string("STREAMTRACK_FAKE_NOW: not an RFC 3339 time: \"") + fake +
                             "\"");
  }
  return std::make_unique<OffsetClock>(*start);
}

}  // namespace streamtrack::collector::daemon
