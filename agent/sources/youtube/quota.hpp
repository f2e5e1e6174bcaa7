#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/util/result.hpp"
#include "common/util/time.hpp"

// The YouTube Data API quota: a daily unit budget that resets at midnight Pacific time.
namespace streamtrack::agent::sources::youtube {

// UTC offsets of one time zone, from a TZif file of the tz database (transitions, then the
// POSIX TZ rule of its footer) or from a POSIX TZ rule alone ("PST8PDT,M3.2.0,M11.1.0").
class ZoneRules {
 public:
  // Throws std::runtime_error naming the file and the problem.
  static ZoneRules from_tzif(const std::string& path);
  // Only the "std offset dst[offset],Mm.w.d[/time],Mm.w.d[/time]" form (or no DST at all).
  // Throws std::invalid_argument.
  static ZoneRules from_posix(std::string_view rule);

  // Local time minus UTC at instant `t`.
  std::chrono::seconds offset(TimePoint t) const;
  // The first local midnight strictly after `t`, as a UTC instant.
  TimePoint next_midnight(TimePoint t) const;

 private:
  struct Posix {
    std::chrono::seconds std_offset{0};
    std::optional<std::chrono::seconds> dst_offset;
    int start[3] = {0, 0, 0};  // month, week, weekday
    int end[3] = {0, 0, 0};
    std::chrono::seconds start_time{7200};
    std::chrono::seconds end_time{7200};
  };
  std::chrono::seconds posix_offset(std::int64_t utc_seconds) const;

  std::vector<std::int64_t> m_transitions;  // UTC seconds
  std::vector<std::int32_t> m_offsets;      // offset after each transition
  std::int32_t m_initial_offset = 0;
  std::optional<Posix> m_posix;  // beyond the last transition
};

// The rules of America/Los_Angeles from /usr/share/zoneinfo (or $TZDIR), falling back to the
// built-in US Pacific rule when the tz database is missing. Loaded once.
const ZoneRules& pacific_time();

// Spreads a daily unit budget evenly over the quota day: by any moment, at most the share of
// the budget for the time elapsed since the reset (plus a burst of 1/96 of it, and at least the
// cost asked for) may be spent. Counts every unit spent; after quotaExceeded it refuses
// everything until the next reset. Not thread-safe.
class QuotaPlanner {
 public:
  QuotaPlanner(std::int64_t daily_units, const ZoneRules& zone);

  // Whether `units` may be spent at `now` (starting a new day when the reset passed).
  bool allow(std::int64_t units, TimePoint now);
  // Records units spent (every request sent costs, failed or not).
  void spend(std::int64_t units, TimePoint now);
  // The API answered quotaExceeded: nothing more until the next reset.
  void exhausted(TimePoint now);
  // When paused by exhausted(): the reset instant.
  std::optional<TimePoint> paused_until(TimePoint now);

  std::int64_t spent_today() const { return m_spent; }
  std::int64_t spent_total() const { return m_total; }
  std::int64_t daily_units() const { return m_daily; }
  // The end of the current quota day (the next reset), once a day started.
  TimePoint day_end() const { return m_day_end; }

 private:
  void roll(TimePoint now);

  std::int64_t m_daily;
  const ZoneRules& m_zone;
  TimePoint m_day_start{};
  TimePoint m_day_end{};
  std::int64_t m_spent = 0;
  std::int64_t m_total = 0;
  bool m_paused = false;
};

}  // namespace streamtrack::agent::sources::youtube
