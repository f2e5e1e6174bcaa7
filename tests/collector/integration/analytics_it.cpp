// Hourly analytics are maintained incrementally and equal a full recomputation, also after
// late samples arrive for hours already refreshed.
#include "collector/analytics/hourly.hpp"
#include "tests/collector/integration/collector_fixture.hpp"

namespace streamtrack::collector::testing {
namespace {

class AnalyticsIT : public CollectorTest {
 protected:
  // Rows that differ between the table and a full recomputation, both ways.
  std::int64_t differences() const {
    const std::string cols =
        "hour, livestream_id, round(avg_viewers::numeric, 6), peak_viewers, min_viewers, "
        "data_points, chat_messages, round(avg_chatters::numeric, 6), peak_chatters, "
        "round(avg_bitrate_kbps::numeric, 6), min_bitrate_kbps, max_bitrate_kbps";
    const std::string table = "SELECT " + cols + " FROM stream_analytics_hourly";
    const std::string full = "SELECT " + cols + " FROM (" + analytics::full_recompute_sql() + ") f";
    return count("SELECT (SELECT count(*) FROM (" + table + " EXCEPT " + full +
                 ") a) + (SELECT count(*) FROM (" + full + " EXCEPT " + table + ") b)");
  }
};

TEST_F(AnalyticsIT, IncrementalRefreshEqualsFullRecomputationAfterLateSamples) {
  CollectorOptions o;
  o.extra = "[analytics]\nrefresh_interval = \"200ms\"\n";
  auto collector = start_collector(o);
  MqttProbe probe(m_broker.url(), {});
  const auto base = *parse_rfc3339("2030-05-01T10:00:00Z");
  int seq = 0;
  // Hours 10 and 11 of one stream, every other minute.
  for (int minute = 0; minute < 120; minute += 2) {
    auto s = make_sample("rig", ++seq, "2030-05-01T10:00:00Z", "live/main", true, "b1");
    s.ts = base + std::chrono::minutes{minute};
    publish(probe, s);
  }
  expect_count("SELECT count(*) FROM stream_analytics_hourly", 2);
  ASSERT_TRUE(wait_until([&] { return differences() == 0; })) << differences();
  EXPECT_EQ(count("SELECT sum(data_points) FROM stream_analytics_hourly"), 60);

  // Late samples (the odd minutes of hour 10, arriving after an outage) with higher viewers.
  for (int minute = 1; minute < 60; minute += 2) {
    auto s = make_sample("rig", ++seq, "2030-05-01T10:00:00Z", "live/main", true, "b1");
    s.ts = base + std::chrono::minutes{minute};
    s.viewers = 1000 + minute;
    publish(probe, s);
  }
  expect_count(
      "SELECT data_points FROM stream_analytics_hourly WHERE hour = "
      "'2030-05-01T10:00:00Z'",
      60);
  ASSERT_TRUE(wait_until([&] { return differences() == 0; })) << differences();
  EXPECT_EQ(count("SELECT peak_viewers FROM stream_analytics_hourly WHERE hour = "
                  "'2030-05-01T10:00:00Z'"),
            1059);
  EXPECT_EQ(count("SELECT data_points FROM stream_analytics_hourly WHERE hour = "
                  "'2030-05-01T11:00:00Z'"),
            30);
  EXPECT_EQ(count("SELECT count(*) FROM analytics_dirty"), 0);
  EXPECT_EQ(collector->stop(), 0);
}

}  // namespace
}  // namespace streamtrack::collector::testing
