// No payload can stop the collector: samples outside the accepted time window go to
// ingest_rejects with the reason, and whatever sits in the default partition never stops
// partition maintenance or a restart.
#include "tests/collector/integration/collector_fixture.hpp"

namespace streamtrack::collector::testing {
namespace {

class WindowIT : public CollectorTest {};

void publish_raw(MqttProbe& probe, std::int64_t seq, const std::string& ts) {
  probe.publish(k_topics.metrics("rig", "nginx_rtmp", "live/main"),
                R"({"schema":1,"agent":"rig","seq":)" + std::to_string(seq) + R"(,"ts":")" + ts +
                    R"(","platform":"nginx_rtmp","channel":"live/main","live":true,"viewers":1})");
}

TEST_F(WindowIT, ExtremeTimestampsAreDeadLetteredAndARestartStillComesUp) {
  CollectorOptions o;
  o.env = {"STREAMTRACK_FAKE_NOW=2030-06-15T12:00:00Z"};
  o.max_future = "1h";
  o.extra = "[partitions]\nretention_months = 12\n";
  auto collector = start_collector(o);
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"});
  publish_raw(probe, 1, "9999-12-31T23:59:59-14:00");  // year 10000 in UTC
  publish_raw(probe, 2, "0000-01-01T00:00:00+14:00");  // before year 1 in UTC
  publish_raw(probe, 3, "1970-01-01T00:00:00Z");
  publish_raw(probe, 4, "2030-06-15T14:00:00Z");  // two hours ahead of the collector's clock
  publish_raw(probe, 5, "2028-01-01T00:00:00Z");  // older than the 12 months kept
  publish_raw(probe, 6, "2030-06-15T11:59:00Z");  // fine
  expect_count("SELECT count(*) FROM livestream_metrics", 1);
  expect_count("SELECT count(*) FROM ingest_rejects", 5);
  EXPECT_EQ(count("SELECT count(*) FROM ingest_rejects WHERE reason LIKE "
                  "'field \"ts\": outside the accepted time window%'"),
            5)
      << collector->output();
  ASSERT_TRUE(wait_until([&] { return acked(probe, "rig").size() >= 6; }));
  EXPECT_EQ(count("SELECT count(*) FROM livestream_metrics_default"), 0);
  EXPECT_EQ(collector->stop(), 0);

  // A restart runs partition maintenance first: it must come up and keep storing.
  collector = start_collector(o);
  publish_raw(probe, 7, "2030-06-15T12:00:00Z");
  expect_count("SELECT count(*) FROM livestream_metrics", 2);
  EXPECT_EQ(collector->stop(), 0);
}

TEST_F(WindowIT, RowsInTheDefaultPartitionThatNoPartitionCanTakeDoNotStopARestart) {
  CollectorOptions o;
  o.env = {"STREAMTRACK_FAKE_NOW=2030-06-15T12:00:00Z"};
  auto collector = start_collector(o);
  EXPECT_EQ(collector->stop(), 0);
  // Rows an older collector let through, in a month whose partition cannot be created because
  // a table of that name is in the way.
  pg_query(m_dsn,
           "INSERT INTO livestream_metrics (livestream_id, \"timestamp\", agent_id, seq) VALUES "
           "(1, '2030-02-10T00:00:00Z', 'a', 1), (1, '10000-01-01T00:00:00Z', 'a', 2), "
           "(1, '0001-01-01T00:00:00Z BC', 'a', 3), (1, '2030-03-10T00:00:00Z', 'a', 4)");
  pg_query(m_dsn, "CREATE TABLE livestream_metrics_y2030m02 (x int)");

  collector = start_collector(o);
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"});
  publish_raw(probe, 1, "2030-06-15T11:00:00Z");
  expect_count("SELECT count(*) FROM livestream_metrics_y2030m06", 1);
  // The month that could be created got its rows; the others are reported, not fatal.
  ASSERT_TRUE(wait_until([&] {
    return count("SELECT count(*) FROM livestream_metrics_y2030m03") == 1;
  })) << collector->output();
  ASSERT_TRUE(collector->wait_for_output(
      "partitions: cannot create or drop partition=livestream_metrics_y2030m02"));
  EXPECT_EQ(collector->stop(), 0);
}

TEST_F(WindowIT, ALateSampleOfAMonthRetentionDroppedRewritesNoHourAndLeavesNoDefaultRow) {
  CollectorOptions o;
  o.env = {"STREAMTRACK_FAKE_NOW=2030-06-15T12:00:00Z"};
  o.extra = "[partitions]\nretention_months = 2\n[analytics]\nrefresh_interval = \"200ms\"\n";
  auto collector = start_collector(o);
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"});
  publish_raw(probe, 1, "2030-06-15T11:00:00Z");
  expect_count("SELECT count(*) FROM stream_analytics_hourly", 1);
  // March was kept and aggregated before retention dropped its partition.
  const auto livestream = count("SELECT min(id) FROM livestreams");
  pg_query(m_dsn,
           "INSERT INTO stream_analytics_hourly (hour, livestream_id, data_points) VALUES "
           "('2030-03-10T10:00:00Z', " +
               std::to_string(livestream) + ", 360)");
  publish_raw(probe, 2, "2030-03-10T10:30:00Z");  // an agent's very late backlog
  publish_raw(probe, 3, "2030-06-15T11:01:00Z");
  ASSERT_TRUE(wait_until([&] { return acked(probe, "rig").size() >= 3; }));
  expect_count(
      "SELECT sum(data_points) FROM stream_analytics_hourly "
      "WHERE hour = '2030-06-15T11:00:00Z'",
      2);
  EXPECT_EQ(count("SELECT data_points FROM stream_analytics_hourly "
                  "WHERE hour = '2030-03-10T10:00:00Z'"),
            360);
  EXPECT_EQ(count("SELECT count(*) FROM livestream_metrics_default"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM ingest_rejects"), 1);
  EXPECT_EQ(collector->stop(), 0);
}

TEST_F(WindowIT, AnOversizedPayloadIsStoredTruncatedWithItsSizeOnce) {
  auto collector = start_collector();
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"});
  const std::string huge(4 * 1024 * 1024, 'x');
  const auto topic = k_topics.metrics("rig", "nginx_rtmp", "live/main");
  probe.publish(topic, huge);
  probe.publish(topic, huge);  // resent
  publish_raw(probe, 1, "2030-03-01T10:00:00Z");
  expect_count("SELECT count(*) FROM livestream_metrics", 1);
  expect_count("SELECT count(*) FROM ingest_rejects", 1);
  EXPECT_EQ(pg_query(m_dsn, "SELECT length(payload), payload_bytes, origin FROM ingest_rejects"),
            (std::vector<std::vector<std::string>>{{"65536", "4194304", "decode"}}));
  EXPECT_EQ(collector->stop(), 0);
}

}  // namespace
}  // namespace streamtrack::collector::testing
