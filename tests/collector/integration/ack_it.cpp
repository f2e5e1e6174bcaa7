// An ack means a row: a sample is acknowledged only once it is in livestream_metrics, or in
// ingest_rejects because its own data is wrong. Every other database error keeps the batch,
// unacknowledged, and retries it.
#include <sstream>

#include "collector/config/collector_config.hpp"
#include "collector/store/pg_connection.hpp"
#include "common/wire/frame.hpp"
#include "tests/collector/integration/collector_fixture.hpp"
#include "tests/support/alertmanager.hpp"

namespace streamtrack::collector::testing {
namespace {

class AckIT : public CollectorTest {
 protected:
  std::string ts_for(int i) {
    return format_rfc3339(*parse_rfc3339("2030-03-01T10:00:00Z") + std::chrono::seconds{i});
  }
  void publish_range(MqttProbe& probe, int first, int last) {
    for (int seq = first; seq <= last; ++seq) {
      publish(probe, make_sample("rig", seq, ts_for(seq), "live/main"));
    }
  }
  std::set<std::int64_t> acked_set(const MqttProbe& probe) {
    const auto a = acked(probe, "rig");
    return {a.begin(), a.end()};
  }
};

TEST_F(AckIT, ATableLockedByAnotherSessionDelaysWritesWithoutDeadLetteringOrAcking) {
  CollectorOptions o;
  o.postgres_extra = "lock_timeout = \"200ms\"\nstatement_timeout = \"5s\"";
  auto collector = start_collector(o);
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"});
  publish_range(probe, 1, 10);
  expect_count("SELECT count(*) FROM livestream_metrics", 10);
  ASSERT_TRUE(wait_until([&] { return acked_set(probe).size() == 10; }));

  store::ConnectOptions locker_options;
  locker_options.dsn = m_dsn;
  store::PgConnection locker(locker_options);
  locker.exec("BEGIN");
  locker.exec("LOCK TABLE livestream_metrics IN ACCESS EXCLUSIVE MODE");
  publish_range(probe, 11, 30);
  // lock_timeout (55P03) ends each attempt; the batch is kept and retried.
  ASSERT_TRUE(collector->wait_for_output("SQLSTATE 55P03")) << collector->output();
  ASSERT_TRUE(collector->wait_for_output("ingest: batch not written, retrying"));
  for (const auto s : acked_set(probe)) EXPECT_LE(s, 10) << "acked while the table was locked";
  locker.exec("COMMIT");

  expect_count("SELECT count(*) FROM livestream_metrics", 30);
  EXPECT_EQ(count("SELECT count(*) FROM ingest_rejects"), 0);
  ASSERT_TRUE(wait_until([&] { return acked_set(probe).size() == 30; }));
  EXPECT_EQ(collector->stop(), 0);
}

TEST_F(AckIT, AMissingTableIsRetriedNotDeadLettered) {
  auto collector = start_collector();
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"});
  publish_range(probe, 1, 5);
  expect_count("SELECT count(*) FROM livestream_metrics", 5);
  ASSERT_TRUE(wait_until([&] { return acked_set(probe).size() == 5; }));

  // An operator's mistake (or a half-applied restore): the table is not there for a while.
  pg_query(m_dsn, "ALTER TABLE livestream_metrics RENAME TO livestream_metrics_away");
  publish_range(probe, 6, 12);
  ASSERT_TRUE(collector->wait_for_output("SQLSTATE 42P01")) << collector->output();
  ASSERT_TRUE(collector->wait_for_output("ingest: batch not written, retrying"));
  EXPECT_EQ(count("SELECT count(*) FROM ingest_rejects"), 0);
  for (const auto s : acked_set(probe)) EXPECT_LE(s, 5) << "acked without a row";
  pg_query(m_dsn, "ALTER TABLE livestream_metrics_away RENAME TO livestream_metrics");

  expect_count("SELECT count(*) FROM livestream_metrics", 12);
  EXPECT_EQ(count("SELECT count(*) FROM ingest_rejects"), 0);
  ASSERT_TRUE(wait_until([&] { return acked_set(probe).size() == 12; }));
  EXPECT_EQ(collector->stop(), 0);
}

TEST_F(AckIT, AReadOnlyDatabaseAsAfterAFailoverToAStandbyIsRetriedNotDeadLettered) {
  auto collector = start_collector();
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"});
  publish_range(probe, 1, 5);
  expect_count("SELECT count(*) FROM livestream_metrics", 5);
  ASSERT_TRUE(wait_until([&] { return acked_set(probe).size() == 5; }));

  const auto reconnect_collector = [&] {
    pg_query(m_pg.dsn(),
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE application_name LIKE 'streamtrack-collector%'");
  };
  // From another database: once it is set, every new session of streamtrack is read-only.
  pg_query(m_pg.dsn(), "ALTER DATABASE streamtrack SET default_transaction_read_only = on");
  reconnect_collector();
  publish_range(probe, 6, 10);
  // The writer itself (not only the maintenance connection) is refused, and retries.
  ASSERT_TRUE(wait_until([&] {
    std::istringstream lines(collector->output());
    for (std::string line; std::getline(lines, line);) {
      if (line.find("batch not written, retrying") != std::string::npos &&
          line.find("SQLSTATE 25006") != std::string::npos) {
        return true;
      }
    }
    return false;
  })) << collector->output();
  EXPECT_EQ(count("SELECT count(*) FROM ingest_rejects"), 0);
  for (const auto s : acked_set(probe)) EXPECT_LE(s, 5) << "acked by a read-only database";

  pg_query(m_pg.dsn(), "ALTER DATABASE streamtrack SET default_transaction_read_only = off");
  reconnect_collector();
  expect_count("SELECT count(*) FROM livestream_metrics", 10);
  EXPECT_EQ(count("SELECT count(*) FROM ingest_rejects"), 0);
  ASSERT_TRUE(wait_until([&] { return acked_set(probe).size() == 10; }));
  EXPECT_EQ(collector->stop(), 0);
}

TEST_F(AckIT, EveryConnectionCarriesTheConfiguredTimeouts) {
  const auto config = parse_collector_config(
      "[postgres]\ndsn = \"" + m_dsn + "\"\nstatement_timeout = \"7s\"\nlock_timeout = \"750ms\"\n",
      "collector.toml");
  store::PgConnection conn(postgres_options(config, "writer"));
  EXPECT_EQ(conn.exec("SHOW statement_timeout").text(0, 0), "7s");
  EXPECT_EQ(conn.exec("SHOW lock_timeout").text(0, 0), "750ms");
  // TCP keepalives are libpq's side of the socket and not visible here; the name says who.
  EXPECT_EQ(conn.exec("SELECT application_name FROM pg_stat_activity WHERE pid = "
                      "pg_backend_pid()")
                .text(0, 0),
            "streamtrack-collector " + config.id + " writer");
}

// One batch of 5,000 scattered seqs (a gap after each, 16 digits: the widest ranges there are)
// once made one ack of about 180 KB, which an agent refuses (wire::decode_ack, 64 KiB): none
// of those samples was ever acknowledged. Every ack message must fit, and name every seq.
TEST_F(AckIT, TheAcksOfALargeScatteredBatchEachFitWhatAnAgentAccepts) {
  const auto port = free_port();
  CollectorOptions o;
  o.pool_size = 1;
  o.max_delay = "10s";
  o.postgres_extra = "lock_timeout = \"0s\"";
  o.http_listen = "127.0.0.1:" + std::to_string(port);
  auto collector = start_collector(o);
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"});
  constexpr int k_samples = 5000;
  constexpr std::int64_t k_first_seq = 1'000'000'000'000'000;
  std::set<std::int64_t> committed;
  // The 5,000 samples must form one batch (max_rows): the only writer is held on a table lock
  // with one sample before them, so they all wait in the queue for its end (group commit).
  const auto lead = [&](std::int64_t seq) {
    auto sample = make_sample("rig", seq, ts_for(0), "live/main");
    sample.bitrate_kbps = 2500.0;  // make_sample's figure grows with the seq
    publish(probe, sample);
  };
  lead(k_first_seq - 4);
  ASSERT_TRUE(wait_until([&] { return acked_set(probe).size() == 1; })) << collector->output();
  store::ConnectOptions locker_options;
  locker_options.dsn = m_dsn;
  store::PgConnection locker(locker_options);
  locker.exec("BEGIN");
  locker.exec("LOCK TABLE livestream_metrics IN ACCESS EXCLUSIVE MODE");
  lead(k_first_seq - 2);
  committed.insert(k_first_seq - 4);
  committed.insert(k_first_seq - 2);
  wire::FrameBuilder frame("rig");
  for (int i = 0; i < k_samples; ++i) {
    const auto seq = k_first_seq + 2 * i;
    auto sample = make_sample("rig", seq, ts_for(i), "live/main");
    sample.bitrate_kbps = 2500.0;  // make_sample's figure grows with the seq
    const auto payload = wire::encode_sample(sample);
    if (!frame.add(payload)) {
      probe.publish(k_topics.frames("rig"), frame.finish());
      ASSERT_TRUE(frame.add(payload));
    }
    committed.insert(seq);
  }
  probe.publish(k_topics.frames("rig"), frame.finish());
  ASSERT_TRUE(wait_until([&] {
    return http_get(port, "/metrics").second.find("streamtrack_collector_pending_rows 5001") !=
           std::string::npos;
  })) << http_get(port, "/metrics").second;
  locker.exec("COMMIT");
  expect_count("SELECT count(*) FROM livestream_metrics", k_samples + 2);
  ASSERT_TRUE(wait_until([&] { return acked_set(probe).size() >= committed.size(); }))
      << acked_set(probe).size() << " of " << k_samples << " acked\n"
      << collector->output();
  EXPECT_EQ(acked_set(probe), committed);
  std::size_t messages = 0;
  for (const auto& m : probe.messages()) {
    if (m.topic != k_topics.ack("rig")) continue;
    ++messages;
    EXPECT_LE(m.payload.size(), wire::k_max_payload_bytes);
    EXPECT_TRUE(wire::decode_ack(m.payload)) << m.payload.substr(0, 200);
  }
  EXPECT_GT(messages, 1u);
  EXPECT_EQ(collector->stop(), 0);
}

}  // namespace
}  // namespace streamtrack::collector::testing
