#include "common/util/time.hpp"

#include <gtest/gtest.h>

#include "common/util/backoff.hpp"
#include "common/util/duration.hpp"

namespace streamtrack {
namespace {

using namespace std::chrono;

TEST(Rfc3339, FormatsUtcWithMilliseconds) {
  const TimePoint t = sys_days{2026y / November / 25} + 1h + 57min + 39s + 123ms;
  EXPECT_EQ(format_rfc3339(t), "2026-11-25T01:57:39.123Z");
  EXPECT_EQ(format_rfc3339(TimePoint{sys_days{2024y / February / 29}}), "2024-02-29T00:00:00.000Z");
}

TEST(Rfc3339, ParsesVariantsIntoUtc) {
  const TimePoint expected = sys_days{2026y / November / 25} + 1h + 57min + 39s + 123ms;
  EXPECT_EQ(parse_rfc3339("2026-11-25T01:57:39.123Z"), expected);
  EXPECT_EQ(parse_rfc3339("2026-11-25t01:57:39.123456789z"), expected);
  EXPECT_EQ(parse_rfc3339("2026-11-25 03:57:39.123+02:00"), expected);
  EXPECT_EQ(parse_rfc3339("2026-11-24T20:57:39.123-05:00"), expected);
  EXPECT_EQ(parse_rfc3339("2026-11-25T01:57:39Z"), expected - 123ms);
}

TEST(Rfc3339, RejectsMalformedAndImpossible) {
  for (const char* bad :
       {"", "2026-11-25", "2026-11-25T01:57:39", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z",
        "2026-11-25T24:00:00Z", "2026-11-25T01:60:00Z", "2026-11-25T01:57:39.Z",
        "2026-11-25T01:57:39.123Zjunk", "2026-11-25T01:57:39+0200", "yesterday",
        "2026-11-25T01:57:39.1234567891Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
  }
}

TEST(Rfc3339, RoundTrips) {
  const TimePoint t = sys_days{1999y / December / 31} + 23h + 59min + 59s + 999ms;
  EXPECT_EQ(parse_rfc3339(format_rfc3339(t)), t);
}

TEST(Duration, ParsesUnitsAndSequences) {
  EXPECT_EQ(parse_duration("500ms"), 500ms);
  EXPECT_EQ(parse_duration("10s"), 10s);
  EXPECT_EQ(parse_duration("5m"), 5min);
  EXPECT_EQ(parse_duration("2h"), 2h);
  EXPECT_EQ(parse_duration("1d"), 24h);
  EXPECT_EQ(parse_duration("1m30s"), 90s);
  EXPECT_EQ(parse_duration("0s"), 0ms);
}

TEST(Duration, RejectsJunk) {
  for (const char* bad :
       {"", "10", "s", "fast", "1.5s", "-1s", "10 s", "10S", "1w", "99999999999999999999s"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(Duration, FormatsShortestExactSpelling) {
  EXPECT_EQ(format_duration(90s), "1m30s");
  EXPECT_EQ(format_duration(0ms), "0s");
  EXPECT_EQ(format_duration(1500ms), "1s500ms");
  EXPECT_EQ(parse_duration(format_duration(93784005ms)), 93784005ms);
}

// The agent keeps one per source (and per chat channel): 1,000 sources must not cost a
// Mersenne Twister's 2.5 KB of state each.
TEST(Duration, SaturatingAddNeverOverflowsTheClock) {
  using namespace std::chrono_literals;
  using Steady = std::chrono::steady_clock;
  const auto now = Steady::now();
  EXPECT_EQ(saturating_add(now, 1h), now + 1h);
  EXPECT_EQ(saturating_add(now, -1h), now - 1h);
  EXPECT_EQ(saturating_add(now, std::chrono::milliseconds::max()), Steady::time_point::max());
  EXPECT_EQ(saturating_add(now, std::chrono::milliseconds::min()), Steady::time_point::min());
  // Converts into nanoseconds, but the sum does not fit.
  const auto largest =
      std::chrono::duration_cast<std::chrono::milliseconds>(Steady::duration::max());
  EXPECT_EQ(saturating_add(now + 1h, largest), Steady::time_point::max());
  EXPECT_EQ(saturating_add(Steady::time_point{}, largest - 1ms),
            Steady::time_point{} + largest - 1ms);
  EXPECT_EQ(saturating_add(Steady::time_point::max(), 0ms), Steady::time_point::max());
  const auto sys = std::chrono::system_clock::now();
  EXPECT_EQ(saturating_add(sys, std::chrono::days{200'000}),
            std::chrono::system_clock::time_point::max());
}

TEST(Backoff, IsSmallEnoughToKeepOnePerSource) {
  EXPECT_LE(sizeof(Backoff), 64u);
}

TEST(Backoff, TheSameSeedGivesTheSameDelaysAndAnotherSeedOthers) {
  Backoff a(1s, 30s, 42);
  Backoff b(1s, 30s, 42);
  Backoff c(1s, 30s, 43);
  bool differs = false;
  for (int i = 0; i < 20; ++i) {
    const auto d = a.next_delay();
    EXPECT_EQ(d, b.next_delay());
    differs = differs || d != c.next_delay();
  }
  EXPECT_TRUE(differs);
}

TEST(Backoff, FullJitterStaysUnderADoublingCappedCeiling) {
  Backoff b(1s, 30s, 42);
  EXPECT_EQ(b.ceiling_for(1), 1s);
  EXPECT_EQ(b.ceiling_for(2), 2s);
  EXPECT_EQ(b.ceiling_for(5), 16s);
  EXPECT_EQ(b.ceiling_for(6), 30s);
  EXPECT_EQ(b.ceiling_for(60), 30s);
  milliseconds longest{0};
  for (int i = 1; i <= 200; ++i) {
    const auto d = b.next_delay();
    EXPECT_GE(d, 0ms);
    EXPECT_LE(d, b.ceiling_for(b.failures()));
    longest = std::max(longest, d);
  }
  EXPECT_GT(longest, 15s);  // jitter spans the range, not only its bottom
  b.reset();
  EXPECT_EQ(b.failures(), 0u);
  EXPECT_LE(b.next_delay(), 1s);
}

}  // namespace
}  // namespace streamtrack
