// Schema migrations over existing data, against a real PostgreSQL.
#include <gtest/gtest.h>

#include "collector/partitions/partition_manager.hpp"
#include "collector/store/migrations.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack::collector {
namespace {

using namespace streamtrack::testing;

class MigrationIT : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dsn = m_pg.create_database("streamtrack");
    store::ConnectOptions options;
    options.dsn = m_dsn;
    m_conn = std::make_unique<store::PgConnection>(options);
  }
  PostgresServer m_pg;
  std::string m_dsn;
  std::unique_ptr<store::PgConnection> m_conn;
};

TEST_F(MigrationIT, IdentityMigrationScopesSelfHostedChannelsAndKeepsEveryRow) {
  store::apply_migrations(*m_conn, 2);
  partitions::maintain_partitions(*m_conn, *parse_rfc3339("2030-03-01T00:00:00Z"), {0, 0});
  pg_query(m_dsn, R"sql(
INSERT INTO channels (id, platform, name) VALUES
  (1, 'nginx_rtmp', 'live/main'), (2, 'twitch', 'somestreamer'), (3, 'srs', 'live/shared');
INSERT INTO livestreams (id, channel_id, session_key, started_at, last_sample_at) VALUES
  (10, 1, 'auto:a', '2030-03-01T10:00:00Z', '2030-03-01T10:00:10Z'),
  (20, 2, 'id:s1', '2030-03-01T10:00:00Z', '2030-03-01T10:00:10Z'),
  (30, 3, 'auto:b', '2030-03-01T10:00:00Z', '2030-03-01T10:00:10Z');
INSERT INTO livestream_metrics (livestream_id, "timestamp", agent_id, seq) VALUES
  (10, '2030-03-01T10:00:00Z', 'studio', 1), (10, '2030-03-01T10:00:10Z', 'studio', 2),
  (20, '2030-03-01T10:00:00Z', 'home', 1), (20, '2030-03-01T10:00:10Z', 'office', 1),
  (30, '2030-03-01T10:00:00Z', 'x', 1), (30, '2030-03-01T10:00:10Z', 'y', 1);
INSERT INTO ingest_rejects (received_at, topic, payload, reason) VALUES
  (now(), 't', '\x7b', 'database refused it: SQLSTATE 22P02: bad');
)sql");
  const auto applied = store::apply_migrations(*m_conn);
  EXPECT_EQ(applied.back(), store::migrations().back().version);
  EXPECT_EQ(pg_query(m_dsn, "SELECT id, scope FROM channels ORDER BY id"),
            (std::vector<std::vector<std::string>>{{"1", "studio"}, {"2", ""}, {"3", ""}}));
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT count(*) FROM livestream_metrics"), "6");
  EXPECT_EQ(pg_query(m_dsn, "SELECT origin, reason, payload_bytes FROM ingest_rejects"),
            (std::vector<std::vector<std::string>>{{"database", "SQLSTATE 22P02: bad", "1"}}));
  // The new key: a second sample in the same millisecond is a row, a resend is not.
  pg_query(m_dsn,
           "INSERT INTO livestream_metrics (livestream_id, \"timestamp\", agent_id, seq) VALUES "
           "(10, '2030-03-01T10:00:10Z', 'studio', 3)");
  EXPECT_THROW(pg_query(m_dsn,
                        "INSERT INTO livestream_metrics (livestream_id, \"timestamp\", agent_id, "
                        "seq) VALUES (10, '2030-03-01T10:00:10Z', 'studio', 3)"),
               std::runtime_error);
}

}  // namespace
}  // namespace streamtrack::collector
