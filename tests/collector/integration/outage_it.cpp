// PostgreSQL restarted mid-stream: nothing lost, nothing duplicated, acks only after commit.
// Two collectors on one shared group: every sample stored exactly once.
#include <thread>

#include "collector/store/pg_connection.hpp"
#include "tests/collector/integration/collector_fixture.hpp"

namespace streamtrack::collector::testing {
namespace {

class OutageIT : public CollectorTest {};

std::string ts_for(int i) {
  return format_rfc3339(*parse_rfc3339("2030-03-01T10:00:00Z") + std::chrono::seconds{i});
}

TEST_F(OutageIT, PostgresRestartMidStreamLosesNothingDuplicatesNothingAndAcksOnlyCommits) {
  auto collector = start_collector();
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"});
  int seq = 0;
  for (; seq < 100; ++seq) publish(probe, make_sample("rig", seq + 1, ts_for(seq), "live/main"));
  expect_count("SELECT count(*) FROM livestream_metrics", 100);
  ASSERT_TRUE(wait_until([&] { return acked(probe, "rig").size() >= 100; }));

  m_pg.stop();
  for (; seq < 200; ++seq) publish(probe, make_sample("rig", seq + 1, ts_for(seq), "live/main"));
  // The collector tries, fails and keeps the batch; no ack for any of the new seqs meanwhile.
  ASSERT_TRUE(collector->wait_for_output("ingest: batch not written, retrying"));
  for (const auto s : acked(probe, "rig")) EXPECT_LE(s, 100) << "acked while PostgreSQL was down";

  m_pg.start();
  for (; seq < 250; ++seq) publish(probe, make_sample("rig", seq + 1, ts_for(seq), "live/main"));
  expect_count("SELECT count(*) FROM livestream_metrics", 250);
  EXPECT_EQ(count("SELECT count(DISTINCT seq) FROM livestream_metrics"), 250);
  EXPECT_EQ(count("SELECT min(seq) FROM livestream_metrics"), 1);
  EXPECT_EQ(count("SELECT max(seq) FROM livestream_metrics"), 250);
  ASSERT_TRUE(wait_until([&] {
    const auto a = acked(probe, "rig");
    return std::set<std::int64_t>(a.begin(), a.end()).size() == 250;
  }));
  EXPECT_EQ(collector->stop(), 0);
}

TEST_F(OutageIT, TwoCollectorsOnASharedGroupStoreEverySampleOnce) {
  CollectorOptions a;
  a.id = "ca";
  a.shared_group = "collectors";
  CollectorOptions b = a;
  b.id = "cb";
  auto first = start_collector(a);
  auto second = start_collector(b);
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"});
  constexpr int k_samples = 400;
  // Every sample twice, as an agent resends what was not acknowledged in time: the copies
  // may reach different collectors, and only the unique key keeps them to one row.
  for (int copy = 0; copy < 2; ++copy) {
    for (int i = 0; i < k_samples; ++i) {
      publish(probe, make_sample(i % 2 ? "rig-a" : "rig-b", i + 1, ts_for(i),
                                 i % 3 ? "live/one" : "live/two", true, "s"));
    }
  }
  expect_count("SELECT count(*) FROM livestream_metrics", k_samples);
  EXPECT_EQ(count("SELECT count(*) FROM (SELECT DISTINCT agent_id, seq FROM livestream_metrics) x"),
            k_samples);
  // Self-hosted servers are channels of the agent that watches them: two agents, two names.
  EXPECT_EQ(count("SELECT count(*) FROM livestreams"), 4);
  // The broker split the stream: each collector committed part of it.
  ASSERT_TRUE(first->wait_for_output("ingest: progress samples="));
  ASSERT_TRUE(second->wait_for_output("ingest: progress samples="));
  EXPECT_EQ(first->stop(), 0);
  EXPECT_EQ(second->stop(), 0);
}

}  // namespace
}  // namespace streamtrack::collector::testing

namespace streamtrack::collector::testing {
namespace {

std::string session_synchronous_commit(const std::string& dsn) {
  store::ConnectOptions options;
  options.dsn = dsn;
  store::PgConnection conn(options);
  return conn.exec("SHOW synchronous_commit").text(0, 0);
}

// The collector acknowledges a sample after its commit, and the agent then deletes it: a commit
// that a server crash can undo (synchronous_commit = off, a common speed tuning, and the test
// server's default) would lose it for good (tests/faults/ pg_immediate_async_commit).
TEST_F(OutageIT, CollectorCommitsSurviveAServerCrashWhateverTheServerDefault) {
  ASSERT_EQ(pg_scalar(m_dsn, "SHOW synchronous_commit"), "off");
  EXPECT_EQ(session_synchronous_commit(m_dsn), "local");
  // A stronger setting (synchronous replication) is kept as it is.
  pg_query(m_dsn, "ALTER DATABASE streamtrack SET synchronous_commit = 'remote_apply'");
  EXPECT_EQ(session_synchronous_commit(m_dsn), "remote_apply");
}

}  // namespace
}  // namespace streamtrack::collector::testing
