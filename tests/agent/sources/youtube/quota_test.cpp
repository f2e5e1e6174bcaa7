// Quota day boundaries (midnight America/Los_Angeles) and the planner's pacing.

#include "agent/sources/youtube/quota.hpp"

#include <gtest/gtest.h>

namespace streamtrack::testing {
namespace {

using agent::sources::youtube::pacific_time;
using agent::sources::youtube::QuotaPlanner;
using agent::sources::youtube::ZoneRules;

TimePoint at(const char* text) {
  return *parse_rfc3339(text);
}

TEST(PacificTime, NextMidnightInSummerAndWinter) {
  const auto& la = pacific_time();
  EXPECT_EQ(format_rfc3339(la.next_midnight(at("2026-07-01T12:00:00Z"))),
            "2026-07-02T07:00:00.000Z");
  EXPECT_EQ(format_rfc3339(la.next_midnight(at("2026-01-15T12:00:00Z"))),
            "2026-01-16T08:00:00.000Z");
  // 06:59 UTC on Jul 2 is still Jul 1 in Los Angeles.
  EXPECT_EQ(format_rfc3339(la.next_midnight(at("2026-07-02T06:59:59Z"))),
            "2026-07-02T07:00:00.000Z");
  EXPECT_EQ(format_rfc3339(la.next_midnight(at("2026-07-02T07:00:00Z"))),
            "2026-07-03T07:00:00.000Z");
  // Across the DST changes: 2026-03-08 and 2026-11-01.
  EXPECT_EQ(format_rfc3339(la.next_midnight(at("2026-03-08T12:00:00Z"))),
            "2026-03-09T07:00:00.000Z");
  EXPECT_EQ(format_rfc3339(la.next_midnight(at("2026-11-01T12:00:00Z"))),
            "2026-11-02T08:00:00.000Z");
}

TEST(PacificTime, TzdataAndPosixRuleAgree) {
  const auto posix = ZoneRules::from_posix("PST8PDT,M3.2.0,M11.1.0");
  const auto& tzdata = pacific_time();
  for (auto t = at("2024-01-01T00:30:00Z"); t < at("2045-01-01T00:00:00Z");
       t += std::chrono::hours(7 * 24 + 5)) {
    ASSERT_EQ(posix.offset(t), tzdata.offset(t)) << format_rfc3339(t);
  }
  EXPECT_EQ(posix.offset(at("2026-03-08T09:59:59Z")), std::chrono::hours(-8));
  EXPECT_EQ(posix.offset(at("2026-03-08T10:00:00Z")), std::chrono::hours(-7));
  EXPECT_EQ(posix.offset(at("2026-11-01T08:59:59Z")), std::chrono::hours(-7));
  EXPECT_EQ(posix.offset(at("2026-11-01T09:00:00Z")), std::chrono::hours(-8));
}

TEST(PacificTime, RejectsUnsupportedRules) {
  EXPECT_THROW(ZoneRules::from_posix("PST8PDT,J60,J300"), std::invalid_argument);
  EXPECT_THROW(ZoneRules::from_tzif("/nonexistent/zone"), std::runtime_error);
}

TEST(QuotaPlanner, SpreadsTheBudgetOverTheDay) {
  const auto utc = ZoneRules::from_posix("UTC0");
  QuotaPlanner planner(9600, utc);
  const auto midnight = at("2026-07-01T00:00:00Z");
  // Burst: 1/96 of the budget at the start of the day.
  EXPECT_TRUE(planner.allow(100, midnight));
  planner.spend(100, midnight);
  EXPECT_FALSE(planner.allow(1, midnight));
  // Half a day later half the budget (plus the burst) may have been spent.
  const auto noon = at("2026-07-01T12:00:00Z");
  EXPECT_TRUE(planner.allow(4800, noon));
  EXPECT_FALSE(planner.allow(4801, noon));
  planner.spend(4800, noon);
  EXPECT_EQ(planner.spent_today(), 4900);
  // Never more than the daily budget.
  const auto late = at("2026-07-01T23:59:00Z");
  EXPECT_TRUE(planner.allow(4700, late));
  EXPECT_FALSE(planner.allow(4701, late));
  // A new day starts from zero; the total keeps counting.
  const auto next = at("2026-07-02T00:00:00Z");
  EXPECT_TRUE(planner.allow(100, next));
  planner.spend(1, next);
  EXPECT_EQ(planner.spent_today(), 1);
  EXPECT_EQ(planner.spent_total(), 4901);
}

TEST(QuotaPlanner, ExhaustedPausesUntilTheReset) {
  QuotaPlanner planner(10'000, pacific_time());
  const auto now = at("2026-01-15T20:00:00Z");
  planner.exhausted(now);
  EXPECT_EQ(planner.paused_until(now), at("2026-01-16T08:00:00Z"));
  EXPECT_FALSE(planner.allow(1, at("2026-01-16T07:59:59Z")));
  EXPECT_TRUE(planner.allow(1, at("2026-01-16T08:00:00Z")));
  EXPECT_FALSE(planner.paused_until(at("2026-01-16T08:00:00Z")));
}

}  // namespace
}  // namespace streamtrack::testing
