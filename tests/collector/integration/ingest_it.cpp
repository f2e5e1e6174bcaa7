// Samples per docs/mqtt.md land in the right partition and session, malformed ones in
// ingest_rejects with the reason, and publishing everything twice changes nothing.
#include "collector/store/migrations.hpp"
#include "tests/collector/integration/collector_fixture.hpp"

namespace streamtrack::collector::testing {
namespace {

class IngestIT : public CollectorTest {};

TEST_F(IngestIT, SamplesLandInPartitionsAndSessionsRejectsKeepReasonsReplayChangesNothing) {
  CollectorOptions options;
  options.env = {"STREAMTRACK_FAKE_NOW=2030-01-31T23:00:00Z"};
  auto collector = start_collector(options);
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"});

  std::vector<Sample> samples;
  // Channel live/main names its broadcast; the samples straddle the January/February boundary.
  const char* main_ts[] = {"2030-01-31T23:59:57.000Z", "2030-01-31T23:59:58.000Z",
                           "2030-01-31T23:59:59.999Z", "2030-02-01T00:00:00.000Z",
                           "2030-02-01T00:00:01.000Z"};
  std::int64_t seq = 0;
  for (const auto* ts : main_ts)
    samples.push_back(make_sample("rig", ++seq, ts, "live/main", true, "b1"));
  // Channel live/aux names nothing: a derived session, closed by an offline sample.
  samples.push_back(make_sample("rig", ++seq, "2030-01-31T22:00:00.000Z", "live/aux"));
  samples.push_back(make_sample("rig", ++seq, "2030-01-31T22:00:10.000Z", "live/aux"));
  samples.push_back(make_sample("rig", ++seq, "2030-01-31T22:00:20.000Z", "live/aux", false));
  samples.back().title = "gone";

  struct Bad {
    std::string topic;
    std::string payload;
    std::string reason;
  };
  auto wrong_agent = make_sample("impostor", 99, "2030-01-31T22:00:00.000Z", "live/main");
  std::vector<Bad> bad{
      {k_topics.metrics("rig", "nginx_rtmp", "live/main"), "{\"schema\":1,", ""},
      {k_topics.metrics("rig", "nginx_rtmp", "live/main"),
       R"({"schema":1,"agent":"rig","seq":50,"ts":"2030-01-31T22:00:00Z","platform":"nginx_rtmp","channel":"live/main","live":true,"viewers":-5})",
       "field \"viewers\": out of range: -5 (expected 0..2147483647)"},
      {k_topics.metrics("rig", "nginx_rtmp", "live/main"), wire::encode_sample(wrong_agent),
       "payload agent \"impostor\" does not match topic agent \"rig\""},
  };
  bad[0].reason = wire::decode_sample(bad[0].payload).error();

  const auto publish_all = [&] {
    for (const auto& s : samples) publish(probe, s);
    for (const auto& b : bad) probe.publish(b.topic, b.payload);
  };
  publish_all();

  expect_count("SELECT count(*) FROM livestream_metrics", 7);
  expect_count("SELECT count(*) FROM ingest_rejects", 3);
  ASSERT_TRUE(wait_until([&] { return acked(probe, "rig").size() >= samples.size(); }));
  const auto first_acks = acked(probe, "rig");
  EXPECT_EQ(std::set<std::int64_t>(first_acks.begin(), first_acks.end()),
            (std::set<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8}));

  // Partitions: premake from the collector's (fake) clock, and each row in its month.
  const auto parts = pg_query(m_dsn,
                              "SELECT tableoid::regclass::text, count(*) FROM livestream_metrics "
                              "GROUP BY 1 ORDER BY 1");
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0], (std::vector<std::string>{"livestream_metrics_y2030m01", "5"}));
  EXPECT_EQ(parts[1], (std::vector<std::string>{"livestream_metrics_y2030m02", "2"}));
  EXPECT_EQ(count("SELECT count(*) FROM pg_class WHERE relname IN ("
                  "'livestream_metrics_y2030m03', 'livestream_metrics_y2030m04')"),
            2);
  EXPECT_EQ(count("SELECT count(*) FROM pg_class WHERE relname = 'livestream_metrics_y2030m05'"),
            0);

  // Sessions.
  const auto sessions =
      pg_query(m_dsn,
               "SELECT c.name, l.session_key, l.is_active, "
               "to_char(l.started_at, 'YYYY-MM-DD HH24:MI:SS.MS'), "
               "coalesce(to_char(l.ended_at, 'YYYY-MM-DD HH24:MI:SS.MS'), '-'), l.peak_viewers, "
               "(SELECT count(*) FROM livestream_metrics m WHERE m.livestream_id = l.id) "
               "FROM livestreams l JOIN channels c ON c.id = l.channel_id ORDER BY c.name");
  ASSERT_EQ(sessions.size(), 2u);
  EXPECT_EQ(sessions[0], (std::vector<std::string>{"live/aux", "auto:2030-01-31T22:00:00.000Z", "f",
                                                   "2030-01-31 22:00:00.000",
                                                   "2030-01-31 22:00:20.000", "7", "2"}));
  EXPECT_EQ(sessions[1], (std::vector<std::string>{"live/main", "id:b1", "t",
                                                   "2030-01-31 23:59:57.000", "-", "5", "5"}));

  // Rejects keep topic, raw payload and reason.
  const auto rejects = pg_query(
      m_dsn, "SELECT topic, convert_from(payload, 'UTF8'), reason FROM ingest_rejects ORDER BY id");
  ASSERT_EQ(rejects.size(), 3u);
  for (const auto& b : bad) {
    EXPECT_NE(std::find(rejects.begin(), rejects.end(),
                        std::vector<std::string>{b.topic, b.payload, b.reason}),
              rejects.end())
        << b.reason;
  }

  // Everything again: every sample is acknowledged a second time, nothing changes.
  const auto before = pg_query(
      m_dsn,
      "SELECT (SELECT count(*) FROM livestream_metrics), (SELECT count(*) FROM livestreams), "
      "(SELECT count(*) FROM ingest_rejects), (SELECT count(*) FROM channels), "
      "(SELECT string_agg(is_active::text || coalesce(ended_at::text, ''), ',' ORDER BY id) "
      "FROM livestreams)");
  publish_all();
  ASSERT_TRUE(wait_until([&] {
    const auto a = acked(probe, "rig");
    for (std::int64_t s = 1; s <= 8; ++s) {
      if (a.count(s) < 2) return false;
    }
    return true;
  }));
  EXPECT_TRUE(collector->wait_for_output("ingest: rejected"));
  EXPECT_EQ(pg_query(m_dsn,
                     "SELECT (SELECT count(*) FROM livestream_metrics), (SELECT count(*) FROM "
                     "livestreams), (SELECT count(*) FROM ingest_rejects), (SELECT count(*) FROM "
                     "channels), (SELECT string_agg(is_active::text || coalesce(ended_at::text, "
                     "''), ',' ORDER BY id) FROM livestreams)"),
            before);
  EXPECT_EQ(collector->stop(), 0);
}

TEST_F(IngestIT, AgentStatusAndHealthAreRecorded) {
  auto collector = start_collector();
  MqttProbe probe(m_broker.url(), {});
  probe.publish(k_topics.status("rig"),
                R"({"state":"online","version":"0.1.0","sources":3,"ts":"2030-01-01T00:00:00Z"})",
                true);
  wire::Health h;
  h.ts = *parse_rfc3339("2030-01-01T00:00:30Z");
  h.buffer_depth = 12;
  probe.publish(k_topics.health("rig"), wire::encode_health(h));
  expect_count(
      "SELECT count(*) FROM agents WHERE agent_id = 'rig' AND state = 'online' AND "
      "version = '0.1.0' AND sources = 3 AND (health->'buffer'->>'depth')::int = 12",
      1);
  probe.publish(k_topics.status("rig"), R"({"state":"offline"})", true);
  expect_count(
      "SELECT count(*) FROM agents WHERE agent_id = 'rig' AND state = 'offline' "
      "AND version = '0.1.0'",
      1);
  EXPECT_EQ(collector->stop(), 0);
}

TEST_F(IngestIT, MigrateOnlyCreatesTheSchemaAndIsRepeatable) {
  const auto config = write_config({});
  const auto first = run_command(
      {(bin_dir() / "streamtrack-collector").string(), "-c", config.string(), "--migrate-only"},
      k_event_timeout, {"STREAMTRACK_FAKE_NOW=2031-05-10T00:00:00Z"});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("schema: applied migration=1"), std::string::npos) << first.output;
  EXPECT_NE(first.output.find("partitions: created partition=livestream_metrics_y2031m08"),
            std::string::npos)
      << first.output;
  const auto second = run_command(
      {(bin_dir() / "streamtrack-collector").string(), "-c", config.string(), "--migrate-only"});
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(second.output.find("applied migration"), std::string::npos) << second.output;
  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations"),
            static_cast<std::int64_t>(store::migrations().size()));
  EXPECT_EQ(count("SELECT count(*) FROM pg_indexes WHERE tablename = 'livestreams' AND "
                  "indexdef LIKE '%WHERE is_active%'"),
            1);
}

}  // namespace
}  // namespace streamtrack::collector::testing
