// Housekeeping against a real PostgreSQL: retention archives a month before dropping it and the
// one-liner of docs/operations.md restores every row; a month that cannot be archived is kept;
// ingest_rejects and resolved alerts have their own retention; the daemon does both from
// collector.toml.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "collector/config/collector_config.hpp"
#include "collector/partitions/archive.hpp"
#include "collector/partitions/partition_manager.hpp"
#include "collector/retention/retention.hpp"
#include "collector/store/migrations.hpp"
#include "tests/collector/integration/collector_fixture.hpp"

namespace streamtrack::collector::testing {
namespace {

using ::testing::HasSubstr;

TimePoint at(const char* text) {
  return *parse_rfc3339(text);
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto p = text.find(from); p != std::string::npos; p = text.find(from, p + to.size())) {
    text.replace(p, from.size(), to);
  }
  return text;
}

// The fenced block after `<!-- example: name -->` in docs/operations.md.
std::string operations_example(const std::string& name) {
  const auto doc = read_file(source_dir() / "docs/operations.md");
  const auto marker = doc.find("<!-- example: " + name + " -->");
  if (marker == std::string::npos) throw std::runtime_error("no example " + name);
  const auto body = doc.find('\n', doc.find("```", marker)) + 1;
  return doc.substr(body, doc.find("\n```", body) - body + 1);
}

class Housekeeping : public CollectorTest {
 protected:
  void SetUp() override {
    CollectorTest::SetUp();
    store::ConnectOptions options;
    options.dsn = m_dsn;
    m_conn = std::make_unique<store::PgConnection>(options);
    store::apply_migrations(*m_conn);
  }
  bool partition_exists(const std::string& name) {
    return pg_scalar(m_dsn, "SELECT count(*) FROM pg_class WHERE relname = '" + name + "'") == "1";
  }
  // 1,000 rows in January 2026 with every kind of value COPY must carry: NULLs, tabs,
  // newlines, backslashes, non-ASCII text, fractions.
  void fill_january() {
    partitions::maintain_partitions(*m_conn, at("2026-01-15T00:00:00Z"), {3, 0});
    pg_query(m_dsn,
             "INSERT INTO livestream_metrics (livestream_id, \"timestamp\", viewer_count, "
             "chat_messages, chatters, bitrate_kbps, fps, dropped_frames, agent_id, seq) "
             "SELECT i % 7, timestamptz '2026-01-01' + i * interval '37 minutes', "
             "CASE WHEN i % 5 = 0 THEN NULL ELSE i END, i * 3, NULL, i / 3.0, 29.97, 0, "
             "CASE i % 4 WHEN 0 THEN E'rig\\t1' WHEN 1 THEN E'line\\nbreak' "
             "WHEN 2 THEN E'back\\\\slash' ELSE 'studio-é' END, i "
             "FROM generate_series(1, 1000) i");
    pg_query(m_dsn, "CREATE TABLE expected AS SELECT * FROM livestream_metrics_y2026m01");
  }
  std::unique_ptr<store::PgConnection> m_conn;
};

TEST_F(Housekeeping, RetentionArchivesThenDropsAndTheDocumentedOneLinerRestoresEveryRow) {
  fill_january();
  const auto dir = m_dir / "archive";  // made by the archive
  partitions::MaintenanceOptions o{3, 12, 10'000, dir.string()};
  const auto r = partitions::maintain_partitions(*m_conn, at("2027-03-15T00:00:00Z"), o);
  EXPECT_TRUE(r.failed.empty()) << r.failed.front().second;
  EXPECT_THAT(r.dropped,
              ::testing::ElementsAre("livestream_metrics_y2026m01", "livestream_metrics_y2026m02"));
  ASSERT_EQ(r.archived.size(), 2u);
  const auto file = dir / "livestream_metrics_y2026m01.copy.gz";
  EXPECT_EQ(r.archived[0], std::make_pair(file.string(), std::int64_t{1000}));
  EXPECT_EQ(r.archived[1].second, 0);
  EXPECT_FALSE(partition_exists("livestream_metrics_y2026m01"));
  EXPECT_FALSE(std::filesystem::exists(dir / "livestream_metrics_y2026m01.copy.gz.partial"));
  const auto bytes = read_file(file);
  ASSERT_GE(bytes.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(bytes[0]), 0x1f);  // gzip
  EXPECT_EQ(static_cast<unsigned char>(bytes[1]), 0x8b);
  EXPECT_LT(bytes.size(), 1000u * 40u) << "compressed";

  // The documented restore, word for word but for the file and the database.
  auto command = operations_example("restore-archive");
  command = replace_all(
      command, "/var/lib/streamtrack-collector/archive/livestream_metrics_y2026m01.copy.gz",
      file.string());
  command = replace_all(command, "-d streamtrack", "-d '" + m_dsn + "'");
  const auto restored = run_command({"sh", "-c", command});
  ASSERT_EQ(restored.exit_code, 0) << command << "\n" << restored.output;
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT count(*) FROM restored_y2026m01"), "1000");
  EXPECT_EQ(pg_scalar(m_dsn,
                      "SELECT count(*) FROM (SELECT * FROM expected EXCEPT ALL "
                      "SELECT * FROM restored_y2026m01) missing"),
            "0");
  EXPECT_EQ(pg_scalar(m_dsn,
                      "SELECT count(*) FROM (SELECT * FROM restored_y2026m01 EXCEPT ALL "
                      "SELECT * FROM expected) extra"),
            "0");
}

TEST_F(Housekeeping, AnArchiveNeverReplacesAnEarlierOneNorWritesThroughALink) {
  fill_january();
  const auto dir = m_dir / "archive";
  std::filesystem::create_directories(dir);
  // An earlier archive of the month (maybe with more rows), and a link where the partial file
  // goes, pointing at a file that is not the archive's.
  const auto earlier = dir / "livestream_metrics_y2026m01.copy.gz";
  write_file(earlier, "an earlier archive");
  const auto victim = m_dir / "victim";
  write_file(victim, "not yours");
  std::filesystem::create_symlink(victim, dir / "livestream_metrics_y2026m01.copy.gz.partial");

  const auto r = partitions::archive_table(*m_conn, "livestream_metrics_y2026m01", dir);
  EXPECT_EQ(read_file(earlier), "an earlier archive");
  EXPECT_EQ(read_file(victim), "not yours");
  EXPECT_NE(r.file, earlier);
  EXPECT_EQ(r.file.parent_path(), dir);
  EXPECT_THAT(
      r.file.filename().string(),
      ::testing::MatchesRegex("livestream_metrics_y2026m01\\.[0-9TZ]+(-[0-9]+)?\\.copy\\.gz"));
  EXPECT_EQ(r.rows, 1000);
  EXPECT_FALSE(std::filesystem::exists(dir / "livestream_metrics_y2026m01.copy.gz.partial"));
  // A second one in the same second gets a name of its own as well.
  const auto again = partitions::archive_table(*m_conn, "livestream_metrics_y2026m01", dir);
  EXPECT_NE(again.file, r.file);
  EXPECT_NE(again.file, earlier);
  EXPECT_TRUE(std::filesystem::exists(r.file));
}

TEST_F(Housekeeping, WithAnArchiveLateRowsOfADroppedMonthAreKeptAndCounted) {
  partitions::maintain_partitions(*m_conn, at("2027-03-15T00:00:00Z"), {3, 0});
  // A late row of a month retention dropped long ago: it lands in the default partition.
  pg_query(m_dsn,
           "INSERT INTO livestream_metrics (livestream_id, \"timestamp\", agent_id, seq) "
           "VALUES (1, '2020-01-02', 'late', 1)");
  partitions::MaintenanceOptions o{3, 12, 10'000, (m_dir / "archive").string()};
  const auto r = partitions::maintain_partitions(*m_conn, at("2027-03-15T00:00:00Z"), o);
  EXPECT_EQ(r.expired_rows, 0);
  EXPECT_EQ(r.default_rows, 1);
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT count(*) FROM livestream_metrics_default"), "1");
  // Without an archive they are deleted, as before.
  const auto plain = partitions::maintain_partitions(*m_conn, at("2027-03-15T00:00:00Z"), {3, 12});
  EXPECT_EQ(plain.expired_rows, 1);
  EXPECT_EQ(plain.default_rows, 0);
}

TEST_F(Housekeeping, AMonthThatCannotBeArchivedIsKeptAndArchivedNextRound) {
  fill_january();
  write_file(m_dir / "not-a-directory", "x");
  partitions::MaintenanceOptions o{3, 12, 10'000, (m_dir / "not-a-directory" / "archive").string()};
  auto r = partitions::maintain_partitions(*m_conn, at("2027-03-15T00:00:00Z"), o);
  EXPECT_TRUE(r.dropped.empty());
  ASSERT_EQ(r.failed.size(), 2u);
  EXPECT_EQ(r.failed[0].first, "livestream_metrics_y2026m01");
  EXPECT_THAT(r.failed[0].second, HasSubstr("cannot create directory"));
  EXPECT_TRUE(partition_exists("livestream_metrics_y2026m01"));
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT count(*) FROM livestream_metrics_y2026m01"), "1000");

  // Next round, with a directory it can write: archived, then dropped; the connection was left
  // outside any transaction.
  o.archive_dir = (m_dir / "archive").string();
  r = partitions::maintain_partitions(*m_conn, at("2027-03-15T00:00:00Z"), o);
  EXPECT_TRUE(r.failed.empty());
  EXPECT_EQ(r.dropped.size(), 2u);
  EXPECT_TRUE(std::filesystem::exists(m_dir / "archive" / "livestream_metrics_y2026m01.copy.gz"));
}

TEST_F(Housekeeping, RejectsAndResolvedAlertsHaveTheirOwnRetention) {
  pg_query(m_dsn,
           "INSERT INTO ingest_rejects (received_at, topic, payload, reason, payload_bytes) "
           "SELECT timestamptz '2026-11-30' - i * interval '1 day', 't' || i, 'p', 'r', 1 "
           "FROM generate_series(0, 19) i");
  pg_query(m_dsn,
           "INSERT INTO alerts (rule, alert_key, key_parts, state, severity, labels, "
           "active_since, resolved_at, collector) "
           "SELECT 'r', 'k' || i, '[]', CASE WHEN i % 2 = 0 THEN 'resolved' ELSE 'firing' END, "
           "'warning', '{}', timestamptz '2026-01-01', "
           "CASE WHEN i % 2 = 0 THEN timestamptz '2026-11-30' - i * interval '10 days' END, 'c1' "
           "FROM generate_series(0, 19) i");
  const auto now = at("2026-11-30T12:00:00Z");
  // Rejects older than 7.5 days (8 of 20 kept: 0..7 days old), alerts resolved over 45.5 days
  // ago (resolved 0, 20 and 40 days ago kept, with the 10 open ones).
  const auto r = retention::prune_history(
      *m_conn, now, {std::chrono::hours(180), std::chrono::hours(45 * 24), 3});
  EXPECT_EQ(r.rejects_deleted, 12);
  EXPECT_EQ(r.alerts_deleted, 7);
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT count(*) FROM ingest_rejects"), "8");
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT count(*) FROM alerts WHERE resolved_at IS NULL"), "10");
  EXPECT_EQ(pg_scalar(m_dsn, "SELECT count(*) FROM alerts"), "13");
  // Zero keeps everything.
  const auto none = retention::prune_history(*m_conn, now, {});
  EXPECT_EQ(none.rejects_deleted + none.alerts_deleted, 0);
}

TEST_F(Housekeeping, TheDaemonArchivesAndPrunesAsConfigured) {
  // An old month with a row, and an old reject, before the collector starts.
  partitions::maintain_partitions(*m_conn, at("2020-01-15T00:00:00Z"), {0, 0});
  pg_query(m_dsn,
           "INSERT INTO livestream_metrics (livestream_id, \"timestamp\", agent_id, seq) "
           "VALUES (1, '2020-01-02', 'a', 1)");
  pg_query(m_dsn,
           "INSERT INTO ingest_rejects (received_at, topic, payload, reason, payload_bytes) "
           "VALUES (now() - interval '3 days', 'old', 'p', 'r', 1), (now(), 'new', 'p', 'r', 1)");
  CollectorOptions o;
  const auto dir = m_dir / "daemon-archive";
  o.extra = "[partitions]\nretention_months = 12\nmaintenance_interval = \"1s\"\narchive_dir = \"" +
            dir.string() + "\"\n[retention]\ningest_rejects = \"1d\"\n";
  auto collector = start_collector(o);
  EXPECT_TRUE(collector->wait_for_output(
      "partitions: archived file=" + (dir / "livestream_metrics_y2020m01.copy.gz").string() +
      " rows=1"))
      << collector->output();
  expect_count("SELECT count(*) FROM ingest_rejects", 1);
  EXPECT_TRUE(collector->wait_for_output("retention: deleted ingest_rejects=1 alerts=0"));
  EXPECT_EQ(collector->stop(), 0);
}

TEST_F(Housekeeping, AnArchiveInProgressHoldsBackNeitherIngestNorSessionsNorAStop) {
  partitions::maintain_partitions(*m_conn, at("2020-01-15T00:00:00Z"), {0, 0});
  pg_query(m_dsn,
           "INSERT INTO livestream_metrics (livestream_id, \"timestamp\", agent_id, seq) "
           "VALUES (1, '2020-01-02', 'a', 1)");
  // A lock the archive of January 2020 waits for: it stays in progress, as a long COPY would.
  store::ConnectOptions holder_options;
  holder_options.dsn = m_dsn;
  store::PgConnection holder(holder_options);
  holder.exec("BEGIN");
  holder.exec("LOCK TABLE livestream_metrics_y2020m01 IN EXCLUSIVE MODE");

  CollectorOptions o;
  o.env = {"STREAMTRACK_FAKE_NOW=2030-03-01T10:01:29Z"};
  o.extra =
      "[sessions]\noffline_timeout = \"20s\"\n[partitions]\nretention_months = 12\n"
      "maintenance_interval = \"1s\"\nlock_timeout = \"10m\"\narchive_dir = \"" +
      (m_dir / "archive").string() + "\"\n";
  auto collector = start_collector(o);
  expect_count(
      "SELECT count(*) FROM pg_locks WHERE NOT granted AND "
      "relation = 'livestream_metrics_y2020m01'::regclass",
      1);
  // Samples are written and silent sessions closed while the archive waits.
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"});
  publish(probe, make_sample("rig", 1, "2030-03-01T10:00:00Z", "live/main"));
  expect_count("SELECT count(*) FROM livestream_metrics WHERE agent_id = 'rig'", 1);
  EXPECT_TRUE(collector->wait_for_output("sessions: closed silent sessions=1"))
      << collector->output();
  // SIGTERM ends it well within TimeoutStopSec; the month was neither archived nor dropped.
  EXPECT_EQ(collector->stop(std::chrono::seconds(10)), 0) << collector->output();
  holder.exec("ROLLBACK");
  EXPECT_TRUE(partition_exists("livestream_metrics_y2020m01"));
  EXPECT_FALSE(std::filesystem::exists(m_dir / "archive" / "livestream_metrics_y2020m01.copy.gz"));
}

TEST(HousekeepingConfig, ArchiveDirIsAbsoluteAndRetentionKeepsByDefault) {
  const std::string base = "[postgres]\ndsn = \"host=127.0.0.1\"\n";
  const auto c = parse_collector_config(base, "c.toml");
  EXPECT_EQ(c.archive_dir, "");
  EXPECT_EQ(c.rejects_retention.count(), 0);
  EXPECT_EQ(c.alert_history_retention.count(), 0);
  try {
    parse_collector_config(base + "[partitions]\narchive_dir = \"archive\"\n", "c.toml");
    FAIL() << "accepted a relative archive_dir";
  } catch (const config::ConfigError& e) {
    EXPECT_THAT(e.messages(),
                ::testing::ElementsAre(
                    "c.toml:4:15: partitions: archive_dir: must be an absolute path or \"\""));
  }
}

}  // namespace
}  // namespace streamtrack::collector::testing

namespace streamtrack::collector::testing {
namespace {

// A database made by setup-db and filled by the collector writing as its writer role.
class Backup : public CollectorTest {
 protected:
  void SetUp() override {
    const auto setup = run_command(
        {(bin_dir() / "streamtrack-collector").string(), "setup-db", "--admin-dsn", m_pg.dsn()});
    ASSERT_EQ(setup.exit_code, 0) << setup.output;
    m_dsn = m_pg.dsn("streamtrack") + " user=streamtrack";
  }
};

TEST_F(Backup, TheDocumentedBackupRestoresEveryRowWithTheSameGrants) {
  {
    auto collector = start_collector();
    MqttProbe probe(m_broker.url(), {k_topics.ack("rig")});
    ASSERT_TRUE(probe.wait_connected());
    for (int seq = 1; seq <= 5; ++seq) {
      publish(probe, make_sample("rig", seq, "2030-01-01T00:00:0" + std::to_string(seq) + "Z",
                                 seq % 2 ? "a" : "b"));
    }
    expect_count("SELECT count(*) FROM livestream_metrics", 5);
    EXPECT_EQ(collector->stop(), 0);
  }
  auto script = operations_example("backup-database");
  script = replace_all(script, "sudo -u postgres streamtrack-collector",
                       (bin_dir() / "streamtrack-collector").string());
  script = replace_all(script, "sudo -u postgres ", "");
  script = replace_all(script, "\"dbname=postgres\"", "'" + m_pg.dsn() + "'");
  script = replace_all(script, "-d streamtrack -f", "-d '" + m_pg.dsn("streamtrack") + "' -f");
  script = replace_all(script, "pg_restore -d streamtrack_new",
                       "pg_restore -d '" + m_pg.dsn("streamtrack_new") + "'");
  TempDir dir("backup");
  const auto result =
      run_command({"sh", "-c", "set -e; cd '" + dir.path().string() + "'; " + script});
  ASSERT_EQ(result.exit_code, 0) << script << "\n" << result.output;

  const auto restored = m_pg.dsn("streamtrack_new");
  for (const std::string table : {"livestream_metrics", "channels", "livestreams", "agents",
                                  "channel_current", "schema_migrations"}) {
    EXPECT_EQ(pg_scalar(restored, "SELECT count(*) FROM " + table),
              pg_scalar(m_pg.dsn("streamtrack"), "SELECT count(*) FROM " + table))
        << table;
  }
  // Owned by the writer, readable by the reader as before, nothing more.
  EXPECT_EQ(pg_scalar(restored,
                      "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON "
                      "n.oid = c.relnamespace WHERE n.nspname = 'public' AND "
                      "c.relkind IN ('r', 'p', 'v') AND "
                      "pg_get_userbyid(c.relowner) <> 'streamtrack'"),
            "0");
  const auto reader = restored + " user=streamtrack_web";
  EXPECT_EQ(pg_scalar(reader, "SELECT count(*) FROM v_channel_viewers"), "5");
  EXPECT_THROW(pg_query(reader, "SELECT count(*) FROM ingest_rejects"), std::runtime_error);
  // The collector carries on writing into the restored database as the writer.
  m_dsn = restored + " user=streamtrack";
  auto collector = start_collector();
  MqttProbe probe(m_broker.url(), {k_topics.ack("rig")});
  ASSERT_TRUE(probe.wait_connected());
  publish(probe, make_sample("rig", 6, "2030-01-01T00:00:06Z", "a"));
  expect_count("SELECT count(*) FROM livestream_metrics", 6);
  EXPECT_EQ(collector->stop(), 0);
}

}  // namespace
}  // namespace streamtrack::collector::testing
