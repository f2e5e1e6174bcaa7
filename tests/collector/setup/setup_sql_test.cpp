// The shipped psql script (sql/setup-db.sql, installed to /usr/share/streamtrack/sql/) is the
// rendered setup plan with the default names, so the file and `setup-db` cannot drift apart.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "collector/setup/setup_db.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack::collector::setup {
namespace {

using ::testing::HasSubstr;
using streamtrack::testing::read_file;
using streamtrack::testing::source_dir;

TEST(SetupSql, ShippedScriptIsTheRenderedPlanWithDefaultNames) {
  EXPECT_EQ(read_file(source_dir() / "sql/setup-db.sql"), render_psql_script(SetupOptions{}))
      << "regenerate with: build/bin/streamtrack-collector setup-db --print-sql > "
         "sql/setup-db.sql";
}

TEST(SetupSql, ScriptStopsOnTheFirstErrorAndAppliesEveryMigrationAsTheWriter) {
  SetupOptions o;
  o.writer_role = "w";
  o.reader_role = "r";
  o.database = "d";
  const auto sql = render_psql_script(o);
  EXPECT_THAT(sql, HasSubstr("\\set ON_ERROR_STOP on\n"));
  EXPECT_THAT(sql, HasSubstr("SET ROLE \"w\";\n"));
  EXPECT_LT(sql.find("SET ROLE \"w\""), sql.find("-- Migration 1:"));
  EXPECT_LT(sql.find("-- Migration 6:"), sql.find("RESET ROLE"));
  EXPECT_THAT(sql, HasSubstr("GRANT SELECT ON agents, alerts, channel_current, channels, "
                             "livestream_changes, livestream_metrics, livestreams, "
                             "stream_analytics_hourly, v_channel_viewers, v_sessions TO \"r\";"));
  EXPECT_THAT(sql, ::testing::Not(HasSubstr("ingest_rejects TO")));
}

TEST(SetupSql, RefusesNamesThatNeedQuotingAndAReaderThatIsTheWriter) {
  for (const std::string& bad : std::vector<std::string>{"", "a b", "x\"; DROP ROLE postgres; --", "ü", std::string(64, 'a'),
                                "a$b", "a'b"}) {
    SetupOptions o;
    o.database = bad;
    EXPECT_THROW(validate(o), std::invalid_argument) << bad;
    o = {};
    o.reader_role = bad;
    EXPECT_THROW(validate(o), std::invalid_argument) << bad;
  }
  SetupOptions same;
  same.reader_role = same.writer_role;
  try {
    validate(same);
    FAIL() << "accepted a reader equal to the writer";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "--reader-role: must differ from --writer-role (\"streamtrack\"): the reader "
                 "must not write");
  }
  SetupOptions ok;
  ok.writer_role = "streamtrack-collector";  // peer authentication names work
  EXPECT_NO_THROW(validate(ok));
}

}  // namespace
}  // namespace streamtrack::collector::setup
