// `streamtrack-collector setup-db` and the shipped psql script against a real PostgreSQL 15:
// the roles get the least each daemon needs, the collector ingests as the writer, the reader
// can only SELECT what streamtrack-web reads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "collector/setup/setup_db.hpp"
#include "collector/store/migrations.hpp"
#include "tests/collector/integration/collector_fixture.hpp"

namespace streamtrack::collector::testing {
namespace {

using ::testing::HasSubstr;

CommandResult setup_db(const std::vector<std::string>& args) {
  std::vector<std::string> argv{(bin_dir() / "streamtrack-collector").string(), "setup-db"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

// The error PostgreSQL gives `sql` run as `dsn`, or "" when it succeeded.
std::string refusal(const std::string& dsn, const std::string& sql) {
  try {
    pg_query(dsn, sql);
    return "";
  } catch (const std::runtime_error& e) {
    return e.what();
  }
}

// Role attributes, ownership and every privilege the two roles hold: equal for two setups
// that grant the same.
std::string privileges_snapshot(const std::string& dsn) {
  std::string out;
  for (const auto& row : pg_query(
           dsn,
           "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, "
           "rolcanlogin, coalesce(array_to_string(rolconfig, ','), '') FROM pg_roles "
           "WHERE rolname IN ('streamtrack', 'streamtrack_web') ORDER BY 1")) {
    for (const auto& v : row) out += v + " ";
    out += "\n";
  }
  for (const auto& row : pg_query(dsn,
                                  "SELECT datacl::text, pg_get_userbyid(datdba) FROM pg_database "
                                  "WHERE datname = current_database()")) {
    out += row[0] + " owner=" + row[1] + "\n";
  }
  for (const auto& row :
       pg_query(dsn, "SELECT nspacl::text FROM pg_namespace WHERE nspname = 'public'")) {
    out += "public: " + row[0] + "\n";
  }
  for (const auto& row :
       pg_query(dsn,
                "SELECT c.relname, pg_get_userbyid(c.relowner), coalesce(c.relacl::text, '') "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'S') "
                "AND c.relname NOT LIKE 'livestream_metrics_2%' ORDER BY 1")) {
    out += row[0] + " owner=" + row[1] + " acl=" + row[2] + "\n";
  }
  for (const auto& row : pg_query(
           dsn, "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations")) {
    out += "migrations " + row[0] + "\n";
  }
  return out;
}

class SetupDb : public CollectorTest {
 protected:
  // No database yet: setup-db makes it.
  void SetUp() override {
    m_writer = m_pg.dsn("streamtrack") + " user=streamtrack";
    m_reader = m_pg.dsn("streamtrack") + " user=streamtrack_web";
    m_dsn = m_writer;  // the collector of start_collector() connects as the writer
  }
  std::string m_writer;
  std::string m_reader;
};

TEST_F(SetupDb, CreatesTheDatabaseAWriterAndAReadOnlyRoleWithTheLeastGrants) {
  const auto first = setup_db({"--admin-dsn", m_pg.dsn()});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_THAT(first.output, HasSubstr("setup-db: database: created streamtrack\n"));
  EXPECT_THAT(first.output,
              HasSubstr("setup-db: schema: applied " + std::to_string(store::migrations().size()) +
                        " migrations, owned by streamtrack"));
  EXPECT_THAT(first.output, HasSubstr("user=streamtrack_web"));  // what to put in web.toml

  // Neither role has any cluster-wide power.
  EXPECT_EQ(pg_scalar(m_pg.dsn(),
                      "SELECT count(*) FROM pg_roles WHERE rolname IN "
                      "('streamtrack', 'streamtrack_web') AND rolcanlogin AND NOT "
                      "(rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication "
                      "OR rolbypassrls)"),
            "2");
  // The writer owns every table and view of the schema.
  EXPECT_EQ(pg_scalar(m_writer,
                      "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON "
                      "n.oid = c.relnamespace WHERE n.nspname = 'public' AND "
                      "c.relkind IN ('r', 'p', 'v') AND "
                      "pg_get_userbyid(c.relowner) <> 'streamtrack'"),
            "0");

  // The reader: SELECT on what streamtrack-web reads, nothing else.
  for (const auto& relation : setup::reader_relations()) {
    EXPECT_EQ(refusal(m_reader, "SELECT count(*) FROM " + relation), "") << relation;
  }
  EXPECT_EQ(pg_scalar(m_reader, "SHOW default_transaction_read_only"), "on");
  for (const std::string sql :
       {"SELECT count(*) FROM ingest_rejects", "SELECT count(*) FROM analytics_dirty",
        "SELECT count(*) FROM schema_migrations",
        "BEGIN READ WRITE; INSERT INTO channels (platform, name) VALUES ('twitch', 'x')",
        "BEGIN READ WRITE; UPDATE agents SET state = 'x'",
        "BEGIN READ WRITE; DELETE FROM livestreams", "BEGIN READ WRITE; CREATE TABLE mine (x int)",
        "BEGIN READ WRITE; CREATE TEMP TABLE mine (x int)",
        "BEGIN READ WRITE; TRUNCATE channel_current"}) {
    EXPECT_THAT(refusal(m_reader, sql), HasSubstr("permission denied")) << sql;
  }

  // The writer: its own tables, temporary staging tables; no roles, databases or schemas.
  EXPECT_EQ(refusal(m_writer, "CREATE TEMP TABLE staging (x int)"), "");
  for (const std::string sql : {"CREATE ROLE intruder", "CREATE DATABASE other",
                                "CREATE SCHEMA other", "SELECT pg_read_file('/etc/passwd')"}) {
    EXPECT_THAT(refusal(m_writer, sql), HasSubstr("permission denied")) << sql;
  }
  EXPECT_THAT(refusal(m_writer, "ALTER ROLE streamtrack SUPERUSER"),
              HasSubstr("must be superuser"));

  // Other roles of the cluster cannot even connect.
  pg_query(m_pg.dsn(), "CREATE ROLE stranger LOGIN");
  EXPECT_THAT(refusal(m_pg.dsn("streamtrack") + " user=stranger", "SELECT 1"),
              HasSubstr("permission denied for database"));

  // Rerunning changes nothing and says so.
  const auto before = privileges_snapshot(m_pg.dsn("streamtrack"));
  const auto second = setup_db({"--admin-dsn", m_pg.dsn()});
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_THAT(second.output, HasSubstr("setup-db: database: streamtrack exists\n"));
  EXPECT_THAT(second.output, HasSubstr("setup-db: schema: up to date"));
  EXPECT_EQ(privileges_snapshot(m_pg.dsn("streamtrack")), before);
}

TEST_F(SetupDb, TheCollectorIngestsAsTheWriterAndTheReaderSeesTheRows) {
  const auto done = setup_db({"--admin-dsn", m_pg.dsn()});
  ASSERT_EQ(done.exit_code, 0) << done.output;
  auto collector = start_collector();
  MqttProbe probe(m_broker.url(), {k_topics.ack("rig")});
  ASSERT_TRUE(probe.wait_connected());
  publish(probe, make_sample("rig", 1, "2030-01-01T00:00:00Z", "live/main"));
  publish(probe, make_sample("rig", 2, "2030-01-01T00:00:10Z", "live/main"));
  EXPECT_TRUE(wait_until([&] { return acked(probe, "rig").size() == 2; })) << collector->output();
  EXPECT_EQ(
      pg_scalar(m_reader, "SELECT count(*) FROM v_channel_viewers WHERE channel = 'live/main'"),
      "2");
  EXPECT_EQ(pg_scalar(m_reader, "SELECT count(*) FROM v_sessions WHERE channel = 'live/main'"),
            "1");
  // Partitions made by the running collector belong to the writer too.
  EXPECT_EQ(pg_scalar(m_writer,
                      "SELECT count(*) FROM pg_class WHERE relname LIKE "
                      "'livestream_metrics_2%' AND pg_get_userbyid(relowner) <> "
                      "'streamtrack'"),
            "0");
  EXPECT_EQ(collector->stop(), 0) << collector->output();
}

TEST_F(SetupDb, ThePsqlScriptGrantsExactlyWhatTheCommandGrants) {
  ASSERT_EQ(setup_db({"--admin-dsn", m_pg.dsn()}).exit_code, 0);
  PostgresServer other;
  const auto script =
      bin_dir().parent_path() / "sql/setup-db.sql";  // built by streamtrack-setup-sql
  for (int run = 0; run < 2; ++run) {                // the script is idempotent too
    const auto psql = run_command({"psql", "-X", "-q", "-d", other.dsn(), "-f", script.string()});
    ASSERT_EQ(psql.exit_code, 0) << psql.output;
  }
  EXPECT_EQ(privileges_snapshot(other.dsn("streamtrack")),
            privileges_snapshot(m_pg.dsn("streamtrack")));
}

TEST_F(SetupDb, SetsPasswordsFromFilesAndRefusesAnOverPrivilegedRole) {
  TempDir dir("setup-db");
  write_file(dir / "writer", "w-secret\n");
  const auto done =
      setup_db({"--admin-dsn", m_pg.dsn(), "--writer-password-file", (dir / "writer").string()});
  ASSERT_EQ(done.exit_code, 0) << done.output;
  EXPECT_THAT(done.output, ::testing::Not(HasSubstr("w-secret")));
  EXPECT_THAT(
      pg_scalar(m_pg.dsn(), "SELECT rolpassword FROM pg_authid WHERE rolname = 'streamtrack'"),
      ::testing::StartsWith("SCRAM-SHA-256$"));

  const auto superuser =
      setup_db({"--admin-dsn", m_pg.dsn(), "--writer-role", "postgres", "--database", "other"});
  EXPECT_EQ(superuser.exit_code, 1);
  EXPECT_THAT(superuser.output,
              HasSubstr("role postgres (writer) already exists with SUPERUSER, CREATEDB, "
                        "CREATEROLE, REPLICATION or BYPASSRLS"));
  EXPECT_EQ(pg_scalar(m_pg.dsn(), "SELECT count(*) FROM pg_database WHERE datname = 'other'"), "0");

  const auto bad = setup_db({"--admin-dsn", m_pg.dsn(), "--database", "x; DROP"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.output, HasSubstr("--database: \"x; DROP\" is not 1-63 characters"));
  const auto missing =
      setup_db({"--writer-password-file", (dir / "nope").string(), "--admin-dsn", m_pg.dsn()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.output, HasSubstr("--writer-password-file: cannot read a password from"));
}

TEST_F(SetupDb, ARerunTakesBackMembershipsAndDefaultPrivilegesGrantedBefore) {
  ASSERT_EQ(setup_db({"--admin-dsn", m_pg.dsn()}).exit_code, 0);
  // What older docs told operators to grant, and default privileges left from another setup.
  const auto admin = m_pg.dsn("streamtrack");
  pg_query(admin, "GRANT pg_read_all_data TO streamtrack_web");
  pg_query(admin, "GRANT pg_write_all_data, pg_read_all_data TO streamtrack");
  pg_query(admin,
           "ALTER DEFAULT PRIVILEGES FOR ROLE streamtrack GRANT SELECT, INSERT ON TABLES "
           "TO streamtrack_web");
  pg_query(admin,
           "ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON "
           "TABLES TO streamtrack_web, streamtrack");
  EXPECT_EQ(pg_scalar(m_reader, "SELECT count(*) FROM ingest_rejects"), "0");  // it could

  const auto rerun = setup_db({"--admin-dsn", m_pg.dsn()});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.output;
  EXPECT_EQ(pg_scalar(admin,
                      "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r "
                      "ON r.oid = m.member WHERE r.rolname IN ('streamtrack', "
                      "'streamtrack_web')"),
            "0");
  EXPECT_EQ(pg_scalar(admin,
                      "SELECT count(*) FROM pg_default_acl a, aclexplode(a.defaclacl) x "
                      "WHERE pg_get_userbyid(x.grantee) IN ('streamtrack', "
                      "'streamtrack_web') AND x.grantee <> a.defaclrole"),
            "0");
  EXPECT_THAT(refusal(m_reader, "SELECT count(*) FROM ingest_rejects"),
              HasSubstr("permission denied"));
  // A table the writer makes later is not readable by the reader either.
  pg_query(m_writer, "CREATE TABLE later (x int)");
  EXPECT_THAT(refusal(m_reader, "SELECT * FROM later"), HasSubstr("permission denied"));
  EXPECT_EQ(pg_scalar(m_reader, "SELECT count(*) FROM livestream_metrics"), "0");
}

TEST_F(SetupDb, APasswordReachesTheServerOnlyAsAVerifier) {
  // Every statement in the server's log, as an operator's log_statement = 'all' would have it.
  pg_query(m_pg.dsn(), "ALTER SYSTEM SET log_statement = 'all'");
  pg_query(m_pg.dsn(), "SELECT pg_reload_conf()");
  ASSERT_TRUE(wait_until([&] { return pg_scalar(m_pg.dsn(), "SHOW log_statement") == "all"; }));
  const auto data = std::filesystem::path(pg_scalar(m_pg.dsn(), "SHOW data_directory"));
  const auto pid =
      read_file(data / "postmaster.pid").substr(0, read_file(data / "postmaster.pid").find('\n'));
  const auto log = std::filesystem::read_symlink("/proc/" + pid + "/fd/2");

  TempDir dir("setup-db");
  write_file(dir / "writer", "w-plain-Secret-1\n");
  write_file(dir / "reader", "r-plain-Secret-2\n");
  const auto done =
      setup_db({"--admin-dsn", m_pg.dsn(), "--writer-password-file", (dir / "writer").string(),
                "--reader-password-file", (dir / "reader").string()});
  ASSERT_EQ(done.exit_code, 0) << done.output;
  const auto logged = read_file(log);
  EXPECT_THAT(logged, HasSubstr("ALTER ROLE \"streamtrack\" PASSWORD 'SCRAM-SHA-256$"));
  EXPECT_THAT(logged, ::testing::Not(HasSubstr("plain-Secret")));
  EXPECT_THAT(pg_scalar(m_pg.dsn(),
                        "SELECT rolpassword FROM pg_authid WHERE rolname = "
                        "'streamtrack_web'"),
              ::testing::StartsWith("SCRAM-SHA-256$"));
}

TEST_F(SetupDb, UnreachableAdminServerIsAClearError) {
  const auto port = m_pg.port();
  m_pg.stop();
  const auto r = setup_db({"--admin-dsn", "host=127.0.0.1 port=" + std::to_string(port) +
                                              " user=postgres connect_timeout=2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output,
              HasSubstr("streamtrack-collector setup-db: SQLSTATE 08006: cannot connect"));
}

}  // namespace
}  // namespace streamtrack::collector::testing
