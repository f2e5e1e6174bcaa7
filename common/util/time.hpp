#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace streamtrack {

// Wall-clock instants carried in samples, at millisecond precision (the wire precision).
using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;

// "2026-11-25T01:57:39.123Z": RFC 3339, UTC, always three fractional digits.
std::string format_rfc3339(TimePoint t);

// Parses any RFC 3339 date-time ("T" or " " separator, "Z" or a numeric offset, 0-9
// fractional digits, truncated to milliseconds) into UTC. Returns nullopt on anything else,
// including impossible dates such as February 30.
std::optional<TimePoint> parse_rfc3339(std::string_view text);

// A source of time that tests can drive. Wall time is for timestamps, steady time for
// schedules and timeouts.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override;
  std::chrono::steady_clock::time_point steady_now() const override;
  // The process-wide instance.
  static const SystemClock& instance();
};

// A clock that moves only when told to; both wall and steady time advance together.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start) : m_wall(start) {}
  TimePoint now() const override { return m_wall; }
  std::chrono::steady_clock::time_point steady_now() const override { return m_steady; }
  void advance(std::chrono::milliseconds d) {
    m_wall += d;
    m_steady += d;
  }
  void set(TimePoint wall) { m_wall = wall; }

 private:
  TimePoint m_wall;
  std::chrono::steady_clock::time_point m_steady{};
};

}  // namespace streamtrack
