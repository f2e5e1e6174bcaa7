// PgStore's metrics rows (streamtrack_store_metrics, migration 10) against a real PostgreSQL: a
// plain INSERT while no row was stored before, the same rows by ON CONFLICT DO NOTHING when one
// was (a resend, in an earlier batch, in the same batch, or by a writer still in its
// transaction), and in every case each sample stored and counted in its hour once.
#include <gtest/gtest.h>

#include <thread>

#include "collector/store/migrations.hpp"
#include "collector/store/pg_store.hpp"
#include "tests/collector/integration/queued_sample.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack::collector {
namespace {

using namespace streamtrack::testing;
using namespace std::chrono_literals;
using ingest::Item;
using Rows = std::vector<std::vector<std::string>>;

Item sample_item(std::int64_t seq, const std::string& ts) {
  Sample s;
  s.agent = "studio";
  s.seq = seq;
  s.ts = *parse_rfc3339(ts);
  s.platform = "twitch";
  s.channel = "somestreamer";
  s.live = true;
  s.viewers = seq * 10;
  s.stream_id = "broadcast";
  return queued_sample(std::move(s));
}

class PgStoreMetricsIT : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dsn = m_pg.create_database("streamtrack");
    m_options.dsn = m_dsn;
    store::PgConnection conn(m_options);
    store::apply_migrations(conn);
    m_store = std::make_unique<store::PgStore>(m_options, std::chrono::milliseconds{5min});
  }

  void write(const std::vector<Item>& batch) {
    const auto outcome = m_store->write(batch);
    ASSERT_EQ(outcome.status, Outcome::ok) << outcome.error;
  }

  // The stored seqs in order, and per hour what analytics_dirty counted: rows, sum of viewers.
  Rows stored() const {
    return pg_query(m_dsn,
                    "SELECT string_agg(seq::text, ',' ORDER BY seq), count(*)::text FROM "
                    "livestream_metrics");
  }
  Rows counted() const {
    return pg_query(m_dsn,
                    "SELECT to_char(hour AT TIME ZONE 'UTC', 'HH24:MI'), sum(data_points)::text, "
                    "sum(viewer_sum)::text FROM analytics_dirty GROUP BY hour ORDER BY hour");
  }

  PostgresServer m_pg;
  std::string m_dsn;
  store::ConnectOptions m_options;
  std::unique_ptr<store::PgStore> m_store;
};

TEST_F(PgStoreMetricsIT, ResentSamplesAreStoredAndCountedOnceInLaterBatchesAndInTheirOwn) {
  // A sample is (agent, seq) with its time: a resend carries the same time.
  const auto sample = [](std::int64_t seq) {
    const std::vector<std::string> first{"10:59:58", "10:59:59", "11:00:00", "11:00:01"};
    return sample_item(seq, "2030-03-01T" +
                                (seq <= 4 ? first[static_cast<std::size_t>(seq - 1)]
                                          : "11:00:" + std::to_string(10 + seq)) +
                                "Z");
  };
  write({sample(1), sample(2)});
  EXPECT_EQ(stored(), (Rows{{"1,2", "2"}}));
  // A resend of 2 beside new samples, one of them twice in the batch.
  write({sample(3), sample(2), sample(4), sample(3)});
  EXPECT_EQ(stored(), (Rows{{"1,2,3,4", "4"}}));
  // More resends, then as many batches without as it takes to try the plain INSERT again.
  for (int seq = 5; seq <= 25; ++seq) {
    std::vector<Item> batch{sample(seq)};
    if (seq < 9) batch.push_back(sample(seq - 1));
    write(batch);
  }
  EXPECT_EQ(pg_query(m_dsn,
                     "SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM "
                     "livestream_metrics")
                .at(0),
            (std::vector<std::string>{"25", "25", "1", "25"}));
  // 10:00 holds 1 and 2 (10 + 20 viewers); 11:00 holds 3..25 (the sum of 10 * seq).
  EXPECT_EQ(counted(), (Rows{{"10:00", "2", "30"}, {"11:00", "23", "3220"}}));
}

// A sample another writer stored but has not committed yet: the plain INSERT waits for that
// writer, meets the row once it commits, and the batch's other rows go in without it.
TEST_F(PgStoreMetricsIT, ASampleAnotherWriterHoldsUncommittedIsWaitedForAndStoredOnce) {
  write({sample_item(1, "2030-03-01T10:00:00Z")});
  store::PgConnection rival(m_options);
  rival.exec("BEGIN");
  rival.exec(
      "INSERT INTO livestream_metrics (livestream_id, \"timestamp\", viewer_count, agent_id, seq) "
      "SELECT livestream_id, '2030-03-01T10:00:02Z', 20, 'studio', 2 FROM livestream_metrics");
  store::WriteOutcome outcome;
  std::thread writer([&] {
    outcome = m_store->write(
        {sample_item(2, "2030-03-01T10:00:02Z"), sample_item(3, "2030-03-01T10:00:03Z")});
  });
  const bool waited = wait_until([&] {
    return pg_scalar(m_dsn,
                     "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                     "'Lock' AND datname = current_database()") != "0";
  });
  rival.exec("COMMIT");
  writer.join();
  ASSERT_TRUE(waited);
  ASSERT_EQ(outcome.status, Outcome::ok) << outcome.error;
  EXPECT_EQ(stored(), (Rows{{"1,2,3", "3"}}));
  // The rival's row is not the writer's to count (here, the rival left no aggregates).
  EXPECT_EQ(counted(), (Rows{{"10:00", "2", "40"}}));
}

}  // namespace
}  // namespace streamtrack::collector
