// Partition premake, retention and the default partition, driven by explicit "now" values
// against a real PostgreSQL (the daemon passes its clock's time the same way).
#include <gtest/gtest.h>

#include "collector/alerts/state_store.hpp"
#include "collector/partitions/partition_manager.hpp"
#include "collector/store/migrations.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack::collector {
namespace {

using namespace streamtrack::testing;

class PartitionsIT : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dsn = m_pg.create_database("streamtrack");
    store::ConnectOptions options;
    options.dsn = m_dsn;
    m_conn = std::make_unique<store::PgConnection>(options);
    store::apply_migrations(*m_conn);
  }
  std::vector<std::string> partitions() const {
    std::vector<std::string> names;
    for (const auto& row :
         pg_query(m_dsn,
                  "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                  "WHERE i.inhparent = 'livestream_metrics'::regclass ORDER BY 1")) {
      names.push_back(row[0]);
    }
    return names;
  }
  void insert_row(const std::string& ts, int seq) {
    pg_query(m_dsn,
             "INSERT INTO livestream_metrics (livestream_id, \"timestamp\", agent_id, seq) "
             "VALUES (1, '" +
                 ts + "', 'a', " + std::to_string(seq) + ")");
  }

  PostgresServer m_pg;
  std::string m_dsn;
  std::unique_ptr<store::PgConnection> m_conn;
};

TimePoint at(const char* text) {
  return *parse_rfc3339(text);
}

TEST_F(PartitionsIT, PremakesAheadOfTheClockAndIsIdempotent) {
  auto r = partitions::maintain_partitions(*m_conn, at("2030-11-15T12:00:00Z"), {3, 0});
  EXPECT_EQ(r.created, (std::vector<std::string>{
                           "livestream_metrics_y2030m11", "livestream_metrics_y2030m12",
                           "livestream_metrics_y2031m01", "livestream_metrics_y2031m02"}));
  r = partitions::maintain_partitions(*m_conn, at("2030-11-20T12:00:00Z"), {3, 0});
  EXPECT_TRUE(r.created.empty());
  // The clock moves on a month: one more partition, none dropped without retention.
  r = partitions::maintain_partitions(*m_conn, at("2030-12-01T00:00:00Z"), {3, 0});
  EXPECT_EQ(r.created, (std::vector<std::string>{"livestream_metrics_y2031m03"}));
  EXPECT_TRUE(r.dropped.empty());
  EXPECT_EQ(partitions().size(), 6u);  // five months and the default

  insert_row("2030-11-30T23:59:59.999Z", 1);
  insert_row("2030-12-01T00:00:00Z", 2);
  EXPECT_EQ(pg_query(m_dsn, "SELECT tableoid::regclass::text FROM livestream_metrics ORDER BY seq"),
            (std::vector<std::vector<std::string>>{{"livestream_metrics_y2030m11"},
                                                   {"livestream_metrics_y2030m12"}}));
}

TEST_F(PartitionsIT, RetentionDetachesAndDropsOldMonths) {
  partitions::maintain_partitions(*m_conn, at("2030-01-10T00:00:00Z"), {2, 0});
  insert_row("2030-01-05T00:00:00Z", 1);
  insert_row("2030-03-05T00:00:00Z", 2);
  // Six months later, keeping three months back: January to April go, May onwards stay.
  const auto r = partitions::maintain_partitions(*m_conn, at("2030-08-10T00:00:00Z"), {1, 3});
  EXPECT_EQ(r.dropped,
            (std::vector<std::string>{"livestream_metrics_y2030m01", "livestream_metrics_y2030m02",
                                      "livestream_metrics_y2030m03"}));
  EXPECT_EQ(partitions(),
            (std::vector<std::string>{"livestream_metrics_default", "livestream_metrics_y2030m08",
                                      "livestream_metrics_y2030m09"}));
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT count(*) FROM livestream_metrics"), "0");
}

TEST_F(PartitionsIT, RowsInTheDefaultPartitionAreReportedAndMovedWhenTheirMonthIsKept) {
  partitions::maintain_partitions(*m_conn, at("2030-06-10T00:00:00Z"), {1, 0});
  insert_row("2030-04-02T00:00:00Z", 1);  // late sample from before the first partition
  insert_row("2030-04-03T00:00:00Z", 2);
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT count(*) FROM livestream_metrics_default"), "2");

  auto r = partitions::maintain_partitions(*m_conn, at("2030-06-11T00:00:00Z"), {1, 0});
  EXPECT_EQ(r.created, (std::vector<std::string>{"livestream_metrics_y2030m04"}));
  EXPECT_EQ(r.rescued_rows, 2);
  EXPECT_EQ(r.default_rows, 0);
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT count(*) FROM livestream_metrics_y2030m04"), "2");

  // A row older than retention (its month is gone) is deleted, so the default empties.
  insert_row("2029-01-01T00:00:00Z", 3);
  r = partitions::maintain_partitions(*m_conn, at("2030-06-12T00:00:00Z"), {1, 12});
  EXPECT_TRUE(r.created.empty());
  EXPECT_EQ(r.expired_rows, 1);
  EXPECT_EQ(r.default_rows, 0);
}

TEST_F(PartitionsIT, AMonthThatCannotBeMadeIsReportedAndTheOthersAreStillMade) {
  partitions::maintain_partitions(*m_conn, at("2030-06-10T00:00:00Z"), {0, 0});
  insert_row("2030-02-10T00:00:00Z", 1);
  insert_row("2030-03-10T00:00:00Z", 2);
  insert_row("10000-01-01T00:00:00Z", 3);    // beyond any month a partition is made for
  insert_row("0001-01-01T00:00:00Z BC", 4);  // before year 1
  insert_row("infinity", 5);
  insert_row("1999-12-31T23:59:59.999Z", 6);  // before the accepted window
  pg_query(m_dsn, "CREATE TABLE livestream_metrics_y2030m02 (x integer)");  // in the way
  const auto r = partitions::maintain_partitions(*m_conn, at("2030-06-11T00:00:00Z"), {2, 0});
  EXPECT_EQ(r.created,
            (std::vector<std::string>{"livestream_metrics_y2030m03", "livestream_metrics_y2030m07",
                                      "livestream_metrics_y2030m08"}));
  ASSERT_EQ(r.failed.size(), 1u);
  EXPECT_EQ(r.failed[0].first, "livestream_metrics_y2030m02");
  EXPECT_EQ(r.rescued_rows, 1);
  EXPECT_EQ(r.default_rows, 5);
}

TEST_F(PartitionsIT, TheDefaultPartitionIsEmptiedInBoundedChunks) {
  partitions::maintain_partitions(*m_conn, at("2030-06-10T00:00:00Z"), {0, 0});
  pg_query(m_dsn,
           "INSERT INTO livestream_metrics (livestream_id, \"timestamp\", agent_id, seq) "
           "SELECT 1, '2030-04-01T00:00:00Z'::timestamptz + n * interval '1 second', 'a', n "
           "FROM generate_series(1, 2500) n");
  const auto r = partitions::maintain_partitions(*m_conn, at("2030-06-11T00:00:00Z"), {0, 0, 1000});
  EXPECT_EQ(r.created, (std::vector<std::string>{"livestream_metrics_y2030m04"}));
  EXPECT_EQ(r.rescued_rows, 2500);
  EXPECT_EQ(r.default_rows, 0);
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT count(*) FROM livestream_metrics_y2030m04"), "2500");
}

TEST_F(PartitionsIT, ALockHeldElsewhereFailsTheMonthWithinTheLockTimeoutNotForever) {
  store::ConnectOptions options;
  options.dsn = m_dsn;
  options.lock_timeout = std::chrono::milliseconds{300};
  store::PgConnection maintenance(options);
  store::PgConnection reader(options);
  reader.exec("BEGIN");
  reader.exec("SELECT count(*) FROM livestream_metrics");  // holds ACCESS SHARE on the default
  const auto r = partitions::maintain_partitions(maintenance, at("2030-06-10T00:00:00Z"), {0, 0});
  ASSERT_EQ(r.failed.size(), 1u);
  EXPECT_NE(r.failed[0].second.find("55P03"), std::string::npos) << r.failed[0].second;
  reader.exec("COMMIT");
  const auto again =
      partitions::maintain_partitions(maintenance, at("2030-06-10T00:00:00Z"), {0, 0});
  EXPECT_EQ(again.created, (std::vector<std::string>{"livestream_metrics_y2030m06"}));
  EXPECT_TRUE(again.failed.empty());
}

TEST_F(PartitionsIT, TheAlertStoreCountsPartitionsMissingForThisMonthAndTheNext) {
  store::ConnectOptions options;
  options.dsn = m_dsn;
  const auto alerts = alerts::open_pg_alert_store(options);
  const auto now = at("2030-06-10T00:00:00Z");
  EXPECT_EQ(*alerts->missing_partitions(now), 2);
  partitions::maintain_partitions(*m_conn, now, {0, 0});
  EXPECT_EQ(*alerts->missing_partitions(now), 1);  // July is not made yet
  partitions::maintain_partitions(*m_conn, now, {1, 0});
  EXPECT_EQ(*alerts->missing_partitions(now), 0);
}

}  // namespace
}  // namespace streamtrack::collector
