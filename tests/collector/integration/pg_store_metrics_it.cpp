// PgStore's metrics rows (streamtrack_store_metrics, migration 10) against a real PostgreSQL: a
// plain INSERT while no row was stored before, the same rows by ON CONFLICT DO NOTHING when one
// was (a resend, in an earlier batch, in the same batch, or by a writer still in its
// transaction), and in every case each sample stored and counted in its hour once.
#include <gtest/gtest.h>

#include <limits>
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

// A batch stored whole moves channel_current by streamtrack_store_metrics (migration 11); one
// that met a resent row, by migration 3's trigger from the rows it stored: the same figures.
TEST_F(PgStoreMetricsIT, ChannelCurrentMovesWhetherTheBatchMetAResentRowOrNot) {
  const std::string current_sql =
      "SELECT live::text, to_char(last_sample_at, 'HH24:MI:SS'), viewers::text, "
      "coalesce(round(chat_per_minute::numeric, 3)::text, '-') FROM channel_current";
  const auto with_chat = [](Item item, std::int64_t chat) {
    item.sample->chat_messages = chat;
    return item;
  };
  write({with_chat(sample_item(1, "2030-03-01T10:00:00Z"), 4)});
  EXPECT_EQ(pg_query(m_dsn, current_sql), (Rows{{"true", "10:00:00", "10", "-"}}));
  // Stored whole: 6 messages in the 30 s since 10:00, the newest of the batch's two rows.
  write({with_chat(sample_item(3, "2030-03-01T10:01:00Z"), 6),
         with_chat(sample_item(2, "2030-03-01T10:00:30Z"), 6)});
  EXPECT_EQ(pg_query(m_dsn, current_sql), (Rows{{"true", "10:01:00", "30", "12.000"}}));
  // With a resent row (2): 5 messages in the 60 s since 10:01.
  write({with_chat(sample_item(2, "2030-03-01T10:00:30Z"), 6),
         with_chat(sample_item(4, "2030-03-01T10:02:00Z"), 5)});
  EXPECT_EQ(pg_query(m_dsn, current_sql), (Rows{{"true", "10:02:00", "40", "5.000"}}));
  // And the batches after it (ON CONFLICT DO NOTHING for a while), likewise.
  write({with_chat(sample_item(5, "2030-03-01T10:02:20Z"), 2)});
  EXPECT_EQ(pg_query(m_dsn, current_sql), (Rows{{"true", "10:02:20", "50", "6.000"}}));
  EXPECT_EQ(stored(), (Rows{{"1,2,3,4,5", "5"}}));
}

// The metrics columns go in PostgreSQL's binary format; each reads back as the value its text
// literal gave: extreme numbers, NULLs, negative and pre-2000 times, millisecond times.
TEST_F(PgStoreMetricsIT, ArraysSentInBinaryReadBackAsTheirTextLiteralsDo) {
  using Element = store::BinaryArrayBuilder::Element;
  store::BinaryArrayBuilder int8(Element::int8), int4(Element::int4), float8(Element::float8),
      times(Element::timestamptz);
  store::ArrayLiteralBuilder int8_text, int4_text, float8_text, times_text;
  for (const std::int64_t v : {std::numeric_limits<std::int64_t>::min(), std::int64_t{-1},
                               std::int64_t{0}, std::numeric_limits<std::int64_t>::max()}) {
    int8.add_int8(v);
    int8_text.add_number(v);
  }
  for (const std::int32_t v :
       {std::numeric_limits<std::int32_t>::min(), 0, 7, std::numeric_limits<std::int32_t>::max()}) {
    int4.add_int4(v);
    int4_text.add_number(std::int64_t{v});
  }
  for (const double v : {-0.0, 2500.5, 1e-310, -1.7976931348623157e308, 0.1}) {
    float8.add_float8(v);
    float8_text.add_number(v);
  }
  for (const char* t : {"0001-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z",
                        "2030-03-01T10:00:00.123Z", "9999-12-31T23:59:59.999Z"}) {
    times.add_timestamp(*parse_rfc3339(t));
    times_text.add_timestamp(*parse_rfc3339(t));
  }
  for (auto* b : {&int8, &int4, &float8, &times}) b->add_null();
  for (auto* b : {&int8_text, &int4_text, &float8_text, &times_text}) b->add_null();

  store::PgConnection conn(m_options);
  const std::string sql =
      "SELECT $1::bigint[]::text, $2::integer[]::text, $3::double precision[]::text, "
      "$4::timestamptz[]::text, $5::bigint[]::text";
  const auto binary =
      conn.exec(sql,
                {std::move(int8).finish(), std::move(int4).finish(), std::move(float8).finish(),
                 std::move(times).finish(), store::BinaryArrayBuilder(Element::int8).finish()},
                std::vector<store::ParamFormat>(5, store::ParamFormat::binary));
  const auto text =
      conn.exec(sql, {std::move(int8_text).finish(), std::move(int4_text).finish(),
                      std::move(float8_text).finish(), std::move(times_text).finish(), "{}"});
  for (int col = 0; col < 5; ++col) {
    EXPECT_EQ(binary.text(0, col), text.text(0, col)) << "column " << col;
  }
  EXPECT_EQ(binary.text(0, 4), "{}");
}

// Times go in binary, which would take year 0000 (as 1 BC): a sample of that year is still refused
// as before (its session step refuses it), so the batch isolates it.
TEST_F(PgStoreMetricsIT, ASampleTimePostgresRefusesAsTextIsStillRefused) {
  auto year_zero = sample_item(2, "2030-03-01T10:00:00Z");
  year_zero.sample->ts = *parse_rfc3339("0000-06-01T00:00:00Z");
  const auto outcome = m_store->write({sample_item(1, "2030-03-01T10:00:00Z"), year_zero});
  EXPECT_EQ(outcome.status, Outcome::error);
  EXPECT_NE(outcome.error.find("SQLSTATE 22008"), std::string::npos) << outcome.error;
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT count(*) FROM livestream_metrics"), "0");
  write({sample_item(1, "2030-03-01T10:00:00Z")});
  EXPECT_EQ(stored(), (Rows{{"1", "1"}}));
}

// Viewers go in binary as integers; one that does not fit is sent as text, and refused as ever.
TEST_F(PgStoreMetricsIT, ViewersOutsideAnIntegerAreRefusedNotWrapped) {
  auto huge = sample_item(2, "2030-03-01T10:00:01Z");
  huge.sample->viewers = std::int64_t{1} << 31;
  const auto outcome = m_store->write({sample_item(1, "2030-03-01T10:00:00Z"), huge});
  EXPECT_EQ(outcome.status, Outcome::error);
  EXPECT_NE(outcome.error.find("SQLSTATE 22003"), std::string::npos) << outcome.error;
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT count(*) FROM livestream_metrics"), "0");
}

}  // namespace
}  // namespace streamtrack::collector
