// The shipped psql script (rendered at build time into <build>/sql/setup-db.sql, installed to
// /usr/share/streamtrack/sql/) is the setup plan with the default names.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "collector/setup/setup_db.hpp"
#include "collector/store/migrations.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack::collector::setup {
namespace {

using streamtrack::testing::bin_dir;
using streamtrack::testing::read_file;
using ::testing::HasSubstr;

TEST(SetupSql, ShippedScriptIsTheRenderedPlanWithDefaultNames) {
  EXPECT_EQ(read_file(bin_dir().parent_path() / "sql/setup-db.sql"),
            render_psql_script(SetupOptions{}));
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
  for (const std::string& bad : std::vector<std::string>{"", "a b", "x\"; DROP ROLE postgres; --",
                                                         "ü", std::string(64, 'a'), "a$b", "a'b"}) {
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

// The reader is granted exactly reader_relations(): every table or view of the schema that
// streamtrack-web's code reads must be in it, or the daemon fails on a permission error.
TEST(SetupSql, TheReaderMayReadEveryRelationStreamtrackWebQueries) {
  std::set<std::string> schema;
  const std::regex created(R"(CREATE (?:TABLE|VIEW) (?:IF NOT EXISTS )?([a-z_]+))");
  for (const auto& m : store::migrations()) {
    for (std::sregex_iterator it(m.sql.begin(), m.sql.end(), created), end; it != end; ++it) {
      schema.insert((*it)[1]);
    }
  }
  ASSERT_TRUE(schema.count("channel_current"));
  const std::set<std::string> granted(reader_relations().begin(), reader_relations().end());
  const std::regex read(R"(\b(?:FROM|JOIN)\s+([a-z_]+))");
  std::set<std::string> queried;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(streamtrack::testing::source_dir() / "web")) {
    const auto ext = entry.path().extension();
    if (ext != ".cpp" && ext != ".hpp") continue;
    const auto text = read_file(entry.path());
    for (std::sregex_iterator it(text.begin(), text.end(), read), end; it != end; ++it) {
      const std::string name = (*it)[1];
      if (schema.count(name)) queried.insert(name);
    }
  }
  EXPECT_GE(queried.size(), 8u);
  for (const auto& name : queried) EXPECT_TRUE(granted.count(name)) << name;
  for (const auto& name : granted)
    EXPECT_TRUE(schema.count(name)) << name << " is not in the schema";
}

}  // namespace
}  // namespace streamtrack::collector::setup
