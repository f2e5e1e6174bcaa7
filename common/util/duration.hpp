#pragma once

#include <chrono>
#include <optional>
#include <ratio>
#include <string>
#include <string_view>

namespace streamtrack {

// Parses durations written as one or more number-unit pairs: "500ms", "10s", "5m", "2h",
// "1d", "1m30s". Units: ms, s, m, h, d. Returns nullopt for anything else (no unit, negative,
// fractional, overflow, empty).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// The shortest exact spelling parse_duration accepts: 90000ms -> "1m30s", 0 -> "0s".
std::string format_duration(std::chrono::milliseconds d);

// `at + delay` without overflow: time_point::max() (or min()) when the sum lies beyond what the
// clock's duration counts, however large the delay (a configured one, say).
template <class Clock, class Duration, class Rep, class Period>
std::chrono::time_point<Clock, Duration> saturating_add(std::chrono::time_point<Clock, Duration> at,
                                                        std::chrono::duration<Rep, Period> delay) {
  static_assert(std::ratio_greater_equal_v<Period, typename Duration::period>,
                "the delay's unit is no finer than the clock's");
  using Point = std::chrono::time_point<Clock, Duration>;
  using D = std::chrono::duration<Rep, Period>;
  const Duration since = at.time_since_epoch();
  if (delay >= D::zero()) {
    // The room left above `at`, in the delay's unit rounded down: a delay below it converts
    // into the clock's unit and adds without overflow.
    const Duration room = since < Duration::zero() ? Duration::max() : Duration::max() - since;
    if (delay >= std::chrono::duration_cast<D>(room)) return Point::max();
  } else {
    const Duration room = since > Duration::zero() ? Duration::min() : Duration::min() - since;
    if (delay <= std::chrono::duration_cast<D>(room)) return Point::min();
  }
  return at + std::chrono::duration_cast<Duration>(delay);
}

}  // namespace streamtrack
