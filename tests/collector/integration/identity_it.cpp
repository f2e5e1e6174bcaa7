// Identity: which samples are the same channel, the same session, the same row.
#include "tests/collector/integration/collector_fixture.hpp"

namespace streamtrack::collector::testing {
namespace {

class IdentityIT : public CollectorTest {};

std::string ts_for(int i) {
  return format_rfc3339(*parse_rfc3339("2030-03-01T10:00:00Z") + std::chrono::seconds{i});
}

TEST_F(IdentityIT, TwoServersServingTheSameStreamNameForDifferentAgentsAreTwoChannels) {
  auto collector = start_collector();
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"});
  for (int i = 1; i <= 4; ++i) {
    publish(probe, make_sample("studio-a", i, ts_for(i), "live/main"));
    publish(probe, make_sample("studio-b", i, ts_for(i), "live/main"));
  }
  expect_count("SELECT count(*) FROM livestream_metrics", 8);
  EXPECT_EQ(count("SELECT count(*) FROM channels"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM livestreams"), 2);
  EXPECT_EQ(count("SELECT count(DISTINCT livestream_id) FROM livestream_metrics"), 2);
  EXPECT_EQ(collector->stop(), 0);
}

TEST_F(IdentityIT, OneTwitchChannelWatchedByTwoAgentsIsOneChannelAndOneSessionCountedOnce) {
  CollectorOptions o;
  o.extra = "[analytics]\nrefresh_interval = \"200ms\"\n";
  auto collector = start_collector(o);
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"});
  for (int i = 1; i <= 5; ++i) {
    for (const char* agent : {"home", "office"}) {
      auto s = make_sample(agent, i, ts_for(i), "somestreamer", true, "stream-1");
      s.platform = "twitch";
      s.viewers = 100 + i;
      publish(probe, s);
      publish(probe, s);  // and a resend of the same sample
    }
  }
  expect_count("SELECT count(*) FROM livestream_metrics", 10);
  EXPECT_EQ(count("SELECT count(*) FROM channels"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM livestreams"), 1);
  expect_count("SELECT coalesce(sum(data_points), 0) FROM stream_analytics_hourly", 10);
  EXPECT_EQ(collector->stop(), 0);
}

TEST_F(IdentityIT, TwoDifferentSamplesInTheSameMillisecondAreBothStored) {
  CollectorOptions o;
  o.pool_size = 1;  // batches in order: once seq 3 is acked, everything before it is written
  auto collector = start_collector(o);
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"});
  publish(probe, make_sample("rig", 1, "2030-03-01T10:00:00.123Z", "live/main"));
  publish(probe, make_sample("rig", 2, "2030-03-01T10:00:00.123Z", "live/main"));
  publish(probe, make_sample("rig", 2, "2030-03-01T10:00:00.123Z", "live/main"));  // resent
  publish(probe, make_sample("rig", 3, "2030-03-01T10:00:01Z", "live/main"));
  ASSERT_TRUE(wait_until([&] { return acked(probe, "rig").count(3) > 0; }));
  EXPECT_EQ(count("SELECT count(*) FROM livestream_metrics WHERE \"timestamp\" = "
                  "'2030-03-01T10:00:00.123Z'"),
            2);
  EXPECT_EQ(collector->stop(), 0);
}

TEST_F(IdentityIT, EveryKeyOfTheMetricsAndAnalyticsTablesIncludesTheLivestream) {
  auto collector = start_collector();
  EXPECT_EQ(collector->stop(), 0);
  // Citus can distribute these tables by livestream_id only if every unique index has it.
  const auto rows = pg_query(m_dsn, R"sql(
SELECT c.relname, i.relname FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
WHERE x.indisunique
  AND c.relname IN ('livestream_metrics', 'stream_analytics_hourly', 'analytics_dirty')
  AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                  AND a.attname = 'livestream_id' AND a.attnum = ANY (x.indkey))
)sql");
  EXPECT_TRUE(rows.empty()) << rows.front()[0] << ": " << rows.front()[1];
}

TEST_F(IdentityIT, ADerivedSessionSurvivesTheSweeperClosingItDuringAnAgentOutage) {
  // The collector's clock is 29 s past the last sample, so the sweeper closes the session at
  // once, as it would during an agent outage or with an agent clock a little behind.
  CollectorOptions o;
  o.env = {"STREAMTRACK_FAKE_NOW=2030-03-01T10:01:29Z"};
  o.extra = "[sessions]\noffline_timeout = \"20s\"\n";
  auto collector = start_collector(o);
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"});
  int seq = 0;
  for (int t = 0; t <= 60; t += 10) {
    publish(probe, make_sample("rig", ++seq, ts_for(t), "live/main"));
  }
  expect_count("SELECT count(*) FROM livestream_metrics", 7);
  ASSERT_TRUE(collector->wait_for_output("sessions: closed silent sessions=1"));
  // The agent's backlog arrives: it continues the same broadcast (10 s gaps, under 20 s).
  for (int t = 70; t <= 100; t += 10) {
    publish(probe, make_sample("rig", ++seq, ts_for(t), "live/main"));
  }
  expect_count("SELECT count(*) FROM livestream_metrics", 11);
  EXPECT_EQ(count("SELECT count(*) FROM livestreams"), 1);
  EXPECT_EQ(count("SELECT count(DISTINCT livestream_id) FROM livestream_metrics"), 1);
  EXPECT_EQ(collector->stop(), 0);
}

}  // namespace
}  // namespace streamtrack::collector::testing
