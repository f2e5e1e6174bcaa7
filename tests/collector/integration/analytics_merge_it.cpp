// The hourly refresh merges the partial aggregates each batch write leaves in analytics_dirty
// (migration 9) against a real PostgreSQL: the table equals a full recomputation over the raw
// rows after resends, empty values, late samples and refreshes in between; a refresh of hours
// the writers marked never reads livestream_metrics; hours marked the old way or hourly rows
// from before the migration are recomputed from the raw rows.
#include <gtest/gtest.h>

#include "collector/analytics/hourly.hpp"
#include "collector/store/migrations.hpp"
#include "collector/store/pg_store.hpp"
#include "tests/collector/integration/queued_sample.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack::collector {
namespace {

using namespace streamtrack::testing;
using namespace std::chrono_literals;
using ingest::Item;

constexpr auto k_session_timeout = std::chrono::milliseconds{5min};

struct Figures {
  std::optional<std::int64_t> viewers;
  std::optional<std::int64_t> chat_messages;
  std::optional<std::int64_t> chatters;
  std::optional<double> bitrate_kbps;
};

Item sample_item(const std::string& channel, std::int64_t seq, const std::string& ts,
                 const Figures& f) {
  Sample s;
  s.agent = "studio";
  s.seq = seq;
  s.ts = *parse_rfc3339(ts);
  s.platform = "twitch";
  s.channel = channel;
  s.live = true;
  s.stream_id = "b-" + channel;
  s.viewers = f.viewers;
  s.chat_messages = f.chat_messages;
  s.chatters = f.chatters;
  s.bitrate_kbps = f.bitrate_kbps;
  return queued_sample(std::move(s));
}

class AnalyticsMergeIT : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dsn = m_pg.create_database("streamtrack");
    m_options.dsn = m_dsn;
    m_conn = std::make_unique<store::PgConnection>(m_options);
    store::apply_migrations(*m_conn);
    m_store = std::make_unique<store::PgStore>(m_options, k_session_timeout);
  }

  void write(const std::vector<Item>& batch) {
    const auto outcome = m_store->write(batch);
    ASSERT_EQ(outcome.status, Outcome::ok) << outcome.error;
  }

  std::int64_t refresh() { return analytics::refresh_hourly(*m_conn); }

  std::string scalar(const std::string& sql) const { return pg_scalar(m_dsn, sql); }

  // Rows that differ between the table and a full recomputation, both ways (the averages of
  // float sums compared to 9 decimals: a merge adds the same values in another order).
  std::string differences() const {
    const std::string cols =
        "hour, livestream_id, avg_viewers, peak_viewers, min_viewers, data_points, "
        "chat_messages, avg_chatters, peak_chatters, round(avg_bitrate_kbps::numeric, 9), "
        "min_bitrate_kbps, max_bitrate_kbps";
    const std::string table = "SELECT " + cols + " FROM stream_analytics_hourly";
    const std::string full = "SELECT " + cols + " FROM (" + analytics::full_recompute_sql() + ") f";
    return scalar("SELECT (SELECT count(*) FROM (" + table + " EXCEPT " + full +
                  ") a) + (SELECT count(*) FROM (" + full + " EXCEPT " + table + ") b)");
  }

  PostgresServer m_pg;
  std::string m_dsn;
  store::ConnectOptions m_options;
  std::unique_ptr<store::PgConnection> m_conn;
  std::unique_ptr<store::PgStore> m_store;
};

TEST_F(AnalyticsMergeIT, MergedBatchesEqualAFullRecomputation) {
  const std::vector<Item> first{
      sample_item("a", 1, "2030-03-01T10:00:00Z", {100, 5, 3, 2500.5}),
      sample_item("a", 2, "2030-03-01T10:10:00Z", {140, 0, 1, 3000.25}),
      sample_item("b", 3, "2030-03-01T10:05:00Z", {{}, {}, {}, {}}),  // nothing but the sample
      sample_item("b", 4, "2030-03-01T11:00:00Z", {7, 2, {}, 800}),
  };
  write(first);
  EXPECT_EQ(scalar("SELECT count(*) FROM analytics_dirty"), "3");  // a@10, b@10, b@11
  EXPECT_EQ(refresh(), 3);
  EXPECT_EQ(differences(), "0");

  // A resend of the whole batch stores nothing and counts nothing twice.
  write(first);
  EXPECT_EQ(scalar("SELECT count(*) FROM analytics_dirty"), "0");
  // More samples for refreshed hours, in two batches before one refresh, one beside a resend.
  write({sample_item("a", 5, "2030-03-01T10:20:00Z", {90, 1, {}, 2000}),
         sample_item("b", 6, "2030-03-01T10:30:00Z", {12, {}, 4, {}})});
  write({sample_item("a", 2, "2030-03-01T10:10:00Z", {140, 0, 1, 3000.25}),
         sample_item("a", 7, "2030-03-01T10:59:59Z", {210, 9, 6, 1500.75}),
         sample_item("a", 8, "2030-03-01T12:00:00Z", {1, 1, 1, 1})});
  EXPECT_EQ(refresh(), 3);  // a@10, b@10, a@12
  EXPECT_EQ(differences(), "0");
  EXPECT_EQ(scalar("SELECT data_points || ' ' || min_viewers || ' ' || peak_viewers || ' ' || "
                   "chat_messages || ' ' || avg_viewers FROM stream_analytics_hourly h "
                   "WHERE hour = '2030-03-01T10:00:00Z' AND data_points = 4"),
            "4 90 210 15 135");
  // b@10: one sample without figures, then one with viewers and chatters only.
  EXPECT_EQ(scalar("SELECT data_points || ' ' || avg_viewers || ' ' || avg_chatters || ' ' || "
                   "coalesce(avg_bitrate_kbps::text, '-') || ' ' || "
                   "coalesce(chat_messages::text, '-') FROM stream_analytics_hourly "
                   "WHERE hour = '2030-03-01T10:00:00Z' AND data_points = 2"),
            "2 12 4 - -");
  EXPECT_EQ(scalar("SELECT count(*) FROM analytics_dirty"), "0");
  EXPECT_EQ(refresh(), 0);
}

TEST_F(AnalyticsMergeIT, ARefreshOfWrittenHoursNeverReadsTheRawRows) {
  write({sample_item("a", 1, "2030-03-01T10:00:00Z", {100, 5, 3, 2500}),
         sample_item("b", 2, "2030-03-01T10:00:00Z", {50, 1, 1, 900})});
  // Another session holds livestream_metrics so that nothing may even plan a read of it.
  store::PgConnection holder(m_options);
  holder.exec("BEGIN");
  holder.exec("LOCK TABLE livestream_metrics IN ACCESS EXCLUSIVE MODE");
  store::ConnectOptions bounded = m_options;
  bounded.lock_timeout = 20s;
  store::PgConnection refresher(bounded);
  EXPECT_EQ(analytics::refresh_hourly(refresher), 2);
  holder.exec("ROLLBACK");
  EXPECT_EQ(differences(), "0");
}

TEST_F(AnalyticsMergeIT, HoursMarkedTheOldWayAndRowsFromBeforeTheMigrationAreRecomputed) {
  write({sample_item("a", 1, "2030-03-01T10:00:00Z", {100, 5, 3, 2500}),
         sample_item("a", 2, "2030-03-01T11:00:00Z", {100, 5, 3, 2500})});
  EXPECT_EQ(refresh(), 2);
  // Hour 10 as migration 9 leaves a row it found: no sums, so nothing to merge onto.
  m_conn->exec(
      "UPDATE stream_analytics_hourly SET viewer_sum = NULL, viewer_n = NULL, "
      "chatters_sum = NULL, chatters_n = NULL, bitrate_sum = NULL, bitrate_n = NULL "
      "WHERE hour = '2030-03-01T10:00:00Z'");
  write({sample_item("a", 3, "2030-03-01T10:30:00Z", {300, 1, 1, 500})});
  // Hour 11 as a collector of an older version writes it during an upgrade: the raw row and
  // a mark without aggregates, beside a batch of this version.
  m_conn->exec(
      "INSERT INTO livestream_metrics (livestream_id, \"timestamp\", viewer_count, agent_id, "
      "seq) SELECT livestream_id, '2030-03-01T11:30:00Z', 700, 'old', 1 "
      "FROM stream_analytics_hourly LIMIT 1");
  m_conn->exec(
      "INSERT INTO analytics_dirty (livestream_id, hour) SELECT livestream_id, hour "
      "FROM stream_analytics_hourly WHERE hour = '2030-03-01T11:00:00Z'");
  write({sample_item("a", 4, "2030-03-01T11:40:00Z", {400, 1, 1, 500})});
  EXPECT_EQ(refresh(), 2);
  EXPECT_EQ(differences(), "0");
  EXPECT_EQ(scalar("SELECT string_agg(data_points || ':' || peak_viewers, ',' ORDER BY hour) "
                   "FROM stream_analytics_hourly"),
            "2:300,3:700");
  // Both hours have their sums again, so the next batch merges.
  EXPECT_EQ(scalar("SELECT count(*) FROM stream_analytics_hourly WHERE viewer_n IS NULL"), "0");
  write({sample_item("a", 5, "2030-03-01T10:45:00Z", {1, 1, 1, 1})});
  EXPECT_EQ(refresh(), 1);
  EXPECT_EQ(differences(), "0");
}

// A refresh's statements cost a few milliseconds; compiling them with LLVM costs tens (bench/
// analytics_refresh: 39 to 56 of a 56 to 73 ms refresh, both history sizes), and whether the
// server compiles depends on estimates of analytics_dirty, a queue whose size swings between
// vacuums. So the refresh turns JIT off for its own transaction, and for nothing else of the
// session's, also when it fails. Each statement writing hourly rows (the merge, then the
// recompute) records the setting it ran under, in a session where every statement would
// otherwise be compiled and whose setting differs from the database's default (so that a
// refresh resetting it to the default afterwards is caught too).
TEST_F(AnalyticsMergeIT, ARefreshRunsWithoutJitAndLeavesTheSessionsSettingAsItWas) {
  m_conn->exec("CREATE TABLE jit_seen (statement text, jit text)");
  m_conn->exec(
      "CREATE FUNCTION record_jit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
      "INSERT INTO jit_seen VALUES (TG_OP, current_setting('jit')); RETURN NULL; END $$");
  m_conn->exec(
      "CREATE TRIGGER record_jit AFTER INSERT OR UPDATE ON stream_analytics_hourly "
      "FOR EACH STATEMENT EXECUTE FUNCTION record_jit()");
  m_conn->exec("ALTER DATABASE streamtrack SET jit = off");
  store::PgConnection refresher(m_options);
  ASSERT_EQ(refresher.exec("SHOW jit").text(0, 0), "off");
  refresher.exec("SET jit = on");
  refresher.exec("SET jit_above_cost = 0");
  write({sample_item("a", 1, "2030-03-01T10:00:00Z", {100, 5, 3, 2500}),
         sample_item("b", 2, "2030-03-01T10:00:00Z", {50, 1, 1, 900})});
  // Hour 10 of "b" also marked the old way (no aggregates), which the recompute takes.
  m_conn->exec(
      "INSERT INTO analytics_dirty (livestream_id, hour) SELECT l.id, '2030-03-01T10:00:00Z' "
      "FROM livestreams l JOIN channels c ON c.id = l.channel_id WHERE c.name = 'b'");
  EXPECT_EQ(analytics::refresh_hourly(refresher), 2);
  EXPECT_EQ(differences(), "0");
  // An AFTER INSERT and an AFTER UPDATE statement trigger fire for each INSERT ... ON CONFLICT.
  EXPECT_EQ(scalar("SELECT count(*) || ' ' || string_agg(DISTINCT jit, ',') FROM jit_seen"),
            "4 off");
  EXPECT_EQ(refresher.exec("SHOW jit").text(0, 0), "on");

  // A refresh that fails (here the merge's statement) rolls back and leaves the setting too.
  m_conn->exec(
      "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
      "RAISE EXCEPTION 'refused by the test'; END $$");
  m_conn->exec(
      "CREATE TRIGGER refuse BEFORE INSERT ON stream_analytics_hourly "
      "FOR EACH STATEMENT EXECUTE FUNCTION refuse()");
  write({sample_item("a", 3, "2030-03-01T10:30:00Z", {100, 5, 3, 2500})});
  EXPECT_THROW(analytics::refresh_hourly(refresher), store::PgError);
  EXPECT_EQ(refresher.exec("SHOW jit").text(0, 0), "on");
  EXPECT_EQ(scalar("SELECT count(*) FROM analytics_dirty"), "1");  // left for the next refresh
}

// A collector of the previous version, still running during the upgrade, refreshes an hour
// from the raw rows with the statement it knows: it sets data_points and the averages but not
// the sums, which then describe fewer rows than the hour has. The next merge must not add onto
// them: the hour is recomputed instead (attacker review: the averages stayed wrong for good).
TEST_F(AnalyticsMergeIT, AnHourAnOlderCollectorRefreshedIsRecomputedNotMergedOntoStaleSums) {
  write({sample_item("a", 1, "2030-03-01T10:00:00Z", {100, 5, 3, 2500})});
  EXPECT_EQ(refresh(), 1);
  // The older collector's writer: a raw row (its mark, without aggregates, is taken by its own
  // refresh below, which deletes every mark).
  m_conn->exec(
      "INSERT INTO livestream_metrics (livestream_id, \"timestamp\", viewer_count, agent_id, "
      "seq) SELECT livestream_id, '2030-03-01T10:30:00Z', 700, 'old', 1 "
      "FROM stream_analytics_hourly LIMIT 1");
  // Its refresh: every column it knows, from the raw rows.
  m_conn->exec(
      std::string(
          "UPDATE stream_analytics_hourly h SET avg_viewers = f.avg_viewers, "
          "peak_viewers = f.peak_viewers, min_viewers = f.min_viewers, data_points = "
          "f.data_points, "
          "chat_messages = f.chat_messages, avg_chatters = f.avg_chatters, "
          "peak_chatters = f.peak_chatters, avg_bitrate_kbps = f.avg_bitrate_kbps, "
          "min_bitrate_kbps = f.min_bitrate_kbps, max_bitrate_kbps = f.max_bitrate_kbps FROM (") +
      analytics::full_recompute_sql() +
      ") f WHERE h.hour = f.hour AND h.livestream_id = f.livestream_id");
  ASSERT_EQ(differences(), "0");
  // This version's next batch for the same hour, and its refresh.
  write({sample_item("a", 2, "2030-03-01T10:40:00Z", {400, 1, 1, 500})});
  EXPECT_EQ(refresh(), 1);
  EXPECT_EQ(differences(), "0");
  EXPECT_EQ(scalar("SELECT data_points || ':' || avg_viewers FROM stream_analytics_hourly"),
            "3:400");
}

}  // namespace
}  // namespace streamtrack::collector
