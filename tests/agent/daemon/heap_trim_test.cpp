#include "agent/daemon/heap_trim.hpp"

#include <gtest/gtest.h>

namespace streamtrack::agent {
namespace {

using namespace std::chrono_literals;
using Clock = HeapTrimSchedule::Clock;

const Clock::time_point k_start{std::chrono::hours{1}};

TEST(HeapTrimSchedule, TrimsAtTheFirstQuietTurnAfterPolls) {
  HeapTrimSchedule trim(1s, 5s, k_start);
  EXPECT_FALSE(trim.due(k_start + 2s, true));  // nothing polled: nothing to give back
  trim.polls_finished();
  EXPECT_FALSE(trim.due(k_start + 2s + 10ms, false));  // requests still in flight
  EXPECT_TRUE(trim.due(k_start + 2s + 20ms, true));
  EXPECT_FALSE(trim.due(k_start + 2s + 30ms, true));  // once per burst
}

TEST(HeapTrimSchedule, TrimsAtMostOncePerGapHoweverOftenPollsFinish) {
  HeapTrimSchedule trim(1s, 5s, k_start);
  trim.polls_finished();
  EXPECT_TRUE(trim.due(k_start + 1s, true));
  trim.polls_finished();
  EXPECT_FALSE(trim.due(k_start + 1s + 500ms, true));
  EXPECT_TRUE(trim.due(k_start + 2s, true));  // the polls of the turn before are remembered
}

TEST(HeapTrimSchedule, TrimsEveryPeriodAnyway) {
  HeapTrimSchedule trim(1s, 5s, k_start);
  EXPECT_FALSE(trim.due(k_start + 4s, false));
  EXPECT_TRUE(trim.due(k_start + 5s, false));  // busy or idle
  EXPECT_FALSE(trim.due(k_start + 6s, true));
  EXPECT_TRUE(trim.due(k_start + 10s, true));
}

}  // namespace
}  // namespace streamtrack::agent
