#include "collector/sessions/session_plan.hpp"

#include <gtest/gtest.h>

namespace streamtrack::collector::sessions {
namespace {

using namespace std::chrono_literals;

TimePoint at(const char* text) {
  return *parse_rfc3339(text);
}

Sample live(const char* ts, std::optional<std::string> stream_id = {},
            std::optional<std::int64_t> viewers = {}) {
  Sample s;
  s.agent = "a";
  s.platform = "twitch";
  s.channel = "c";
  s.ts = at(ts);
  s.live = true;
  s.stream_id = std::move(stream_id);
  s.viewers = viewers;
  return s;
}

Sample offline(const char* ts) {
  Sample s = live(ts);
  s.live = false;
  return s;
}

std::vector<const Sample*> ptrs(const std::vector<Sample>& v) {
  std::vector<const Sample*> out;
  for (const auto& s : v) out.push_back(&s);
  return out;
}

TEST(SessionPlan, KeyPrefersStreamIdThenStartedAt) {
  auto s = live("2026-01-01T00:00:00Z", "123");
  EXPECT_EQ(session_key(s), "id:123");
  s.stream_id.reset();
  s.started_at = at("2026-01-01T00:00:00.5Z");
  EXPECT_EQ(session_key(s), "start:2026-01-01T00:00:00.500Z");
  s.started_at.reset();
  EXPECT_EQ(session_key(s), "");
}

TEST(SessionPlan, GroupsByKeyInTimeOrderAndTracksPeakAndTitle) {
  std::vector<Sample> v{live("2026-01-01T00:00:20Z", "1", 7), live("2026-01-01T00:00:00Z", "1", 5),
                        live("2026-01-01T00:00:10Z", "1", 9)};
  v[0].title = "newest";
  v[1].title = "oldest";
  const auto steps = plan_channel(ptrs(v), 5min);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].key, "id:1");
  EXPECT_EQ(steps[0].first, at("2026-01-01T00:00:00Z"));
  EXPECT_EQ(steps[0].last, at("2026-01-01T00:00:20Z"));
  EXPECT_EQ(steps[0].peak_viewers, 9);
  EXPECT_EQ(steps[0].title, "newest");
  EXPECT_EQ(steps[0].samples, (std::vector<std::size_t>{1, 2, 0}));
}

TEST(SessionPlan, OfflineSplitsSessionsAndIsItsOwnStep) {
  std::vector<Sample> v{live("2026-01-01T00:00:00Z"), offline("2026-01-01T00:01:00Z"),
                        live("2026-01-01T00:02:00Z")};
  const auto steps = plan_channel(ptrs(v), 5min);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].kind, SessionStep::Kind::live);
  EXPECT_EQ(steps[1].kind, SessionStep::Kind::offline);
  EXPECT_EQ(steps[1].first, at("2026-01-01T00:01:00Z"));
  EXPECT_EQ(steps[2].kind, SessionStep::Kind::live);
  EXPECT_EQ(steps[2].samples, (std::vector<std::size_t>{2}));
}

TEST(SessionPlan, DerivedSessionsSplitAtGapsLongerThanTheTimeout) {
  std::vector<Sample> v{live("2026-01-01T00:00:00Z"), live("2026-01-01T00:04:00Z"),
                        live("2026-01-01T00:10:00Z")};
  const auto steps = plan_channel(ptrs(v), 5min);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].samples.size(), 2u);
  EXPECT_EQ(steps[1].first, at("2026-01-01T00:10:00Z"));
}

TEST(SessionPlan, NewStreamIdStartsANewStep) {
  std::vector<Sample> v{live("2026-01-01T00:00:00Z", "1"), live("2026-01-01T00:00:10Z", "2")};
  const auto steps = plan_channel(ptrs(v), 5min);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[1].key, "id:2");
}

}  // namespace
}  // namespace streamtrack::collector::sessions
