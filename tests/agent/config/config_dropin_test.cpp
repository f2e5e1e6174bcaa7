// Drop-in directories: agent.d/*.toml merged after agent.toml, and what a reload may change.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "agent/config/agent_config.hpp"
#include "common/config/toml_file.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

const char* k_agent_main = R"([agent]
id = "rig-1"
state_dir = "/tmp/st"
log_level = "info"

[mqtt]
url = "mqtt://127.0.0.1:1883"

[[source]]
type = "nginx_rtmp"
name = "rtmp"
url = "http://127.0.0.1:8080/stat"
interval = "10s"
)";

std::vector<std::string> agent_errors(const fs::path& path) {
  try {
    agent::load_agent_config(path.string());
    return {"OK"};
  } catch (const config::ConfigError& e) {
    return e.messages();
  }
}

std::vector<std::string> source_names(const agent::AgentConfig& c) {
  std::vector<std::string> out;
  for (const auto& s : c.sources) out.push_back(s.name);
  return out;
}

TEST(ConfigDropIns, SourcesAppendInByteOrderOfFileNames) {
  testing::TempDir dir("st-dropin");
  testing::write_file(dir / "agent.toml", k_agent_main);
  fs::create_directory(dir / "agent.d");
  // Byte order: "B" (0x42) sorts before "a" (0x61), "10" before "9".
  testing::write_file(dir / "agent.d" / "a.toml",
                      "[[source]]\ntype = \"owncast\"\nname = \"a\"\n"
                      "url = \"http://127.0.0.1:1/api/status\"\ninterval = \"5s\"\n");
  testing::write_file(dir / "agent.d" / "B.toml",
                      "[[source]]\ntype = \"owncast\"\nname = \"B\"\n"
                      "url = \"http://127.0.0.1:1/api/status\"\ninterval = \"5s\"\n");
  testing::write_file(dir / "agent.d" / "10-x.toml",
                      "[[source]]\ntype = \"owncast\"\nname = \"ten\"\n"
                      "url = \"http://127.0.0.1:1/api/status\"\ninterval = \"5s\"\n"
                      "[[source]]\ntype = \"owncast\"\nname = \"ten-b\"\n"
                      "url = \"http://127.0.0.1:1/api/status\"\ninterval = \"5s\"\n");
  testing::write_file(dir / "agent.d" / "9-x.toml",
                      "[[source]]\ntype = \"owncast\"\nname = \"nine\"\n"
                      "url = \"http://127.0.0.1:1/api/status\"\ninterval = \"5s\"\n");
  const auto c = agent::load_agent_config((dir / "agent.toml").string());
  EXPECT_THAT(source_names(c), ElementsAre("rtmp", "ten", "ten-b", "nine", "B", "a"));
  EXPECT_THAT(
      c.files,
      ElementsAre((dir / "agent.toml").string(), (dir / "agent.d" / "10-x.toml").string(),
                  (dir / "agent.d" / "9-x.toml").string(), (dir / "agent.d" / "B.toml").string(),
                  (dir / "agent.d" / "a.toml").string()));
}

TEST(ConfigDropIns, ScalarKeysOfALaterFileWinAndTablesMergeKeyByKey) {
  testing::TempDir dir("st-dropin");
  testing::write_file(dir / "agent.toml", k_agent_main);
  fs::create_directory(dir / "agent.d");
  testing::write_file(dir / "agent.d" / "50-site.toml",
                      "[agent]\nlog_level = \"debug\"\n[mqtt]\nurl = \"mqtt://127.0.0.2:1884\"\n");
  testing::write_file(dir / "agent.d" / "60-site.toml", "[mqtt]\nurl = \"mqtt://127.0.0.3\"\n");
  const auto c = agent::load_agent_config((dir / "agent.toml").string());
  EXPECT_EQ(c.log_level, log::Level::debug);
  EXPECT_EQ(c.id, "rig-1");             // kept from the main file
  EXPECT_EQ(c.state_dir, "/tmp/st");    // kept from the main file
  EXPECT_EQ(c.mqtt.host, "127.0.0.3");  // the last file wins
  EXPECT_EQ(c.mqtt.port, 1883);
}

TEST(ConfigDropIns, ErrorsNameTheDropInFileLineAndColumn) {
  testing::TempDir dir("st-dropin");
  testing::write_file(dir / "agent.toml", k_agent_main);
  fs::create_directory(dir / "agent.d");
  const auto a = (dir / "agent.d" / "a.toml").string();
  testing::write_file(a,
                      "\n[[source]]\ntype = \"owncast\"\nname = \"rtmp\"\n"
                      "url = \"http://127.0.0.1:1/api/status\"\ninterval = \"fast\"\n"
                      "intervall = \"5s\"\n");
  const auto b = (dir / "agent.d" / "b.toml").string();
  testing::write_file(b, "[mqtt]\nmax_inflight = 0\n");
  EXPECT_THAT(agent_errors(dir / "agent.toml"),
              ElementsAre(b + ":2:16: mqtt: max_inflight: must be at least 1, got 0",
                          a + ":6:12: source \"rtmp\": interval: expected a duration like \"10s\", "
                              "got \"fast\"",
                          a + ":7:1: source \"rtmp\": intervall: unknown key (did you mean "
                              "\"interval\"?)",
                          a + ":4:8: source \"rtmp\": name: another source already has the name "
                              "\"rtmp\""));
}

TEST(ConfigDropIns, SyntaxErrorsOfEveryFileAreListed) {
  testing::TempDir dir("st-dropin");
  testing::write_file(dir / "agent.toml", k_agent_main);
  fs::create_directory(dir / "agent.d");
  testing::write_file(dir / "agent.d" / "a.toml", "[agent\n");
  testing::write_file(dir / "agent.d" / "b.toml", "x = = 1\n");
  const auto errors = agent_errors(dir / "agent.toml");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_THAT(errors[0], ::testing::StartsWith((dir / "agent.d" / "a.toml").string() +
                                               ":1:7: syntax error: "));
  EXPECT_THAT(errors[1], ::testing::StartsWith((dir / "agent.d" / "b.toml").string() +
                                               ":1:5: syntax error: "));
}

TEST(ConfigDropIns, OtherNamesAreSkippedAndOddEntriesReported) {
  testing::TempDir dir("st-dropin");
  testing::write_file(dir / "agent.toml", k_agent_main);
  fs::create_directory(dir / "agent.d");
  // What editors and dpkg leave behind is not read.
  testing::write_file(dir / "agent.d" / "a.toml~", "garbage =");
  testing::write_file(dir / "agent.d" / "a.toml.dpkg-old", "garbage =");
  testing::write_file(dir / "agent.d" / ".a.toml.swp", "garbage =");
  testing::write_file(dir / "agent.d" / ".hidden.toml", "garbage =");
  testing::write_file(dir / "agent.d" / "README", "garbage =");
  EXPECT_THAT(agent_errors(dir / "agent.toml"), ElementsAre("OK"));

  fs::create_directory(dir / "agent.d" / "sub.toml");
  EXPECT_THAT(agent_errors(dir / "agent.toml"),
              ElementsAre((dir / "agent.d" / "sub.toml").string() +
                          ": not a regular file (drop-ins must be files named *.toml)"));
}

TEST(ConfigDropIns, ADanglingSymbolicLinkIsAnErrorNamingIt) {
  testing::TempDir dir("st-dropin");
  testing::write_file(dir / "agent.toml", k_agent_main);
  fs::create_directory(dir / "agent.d");
  fs::create_symlink(dir / "nowhere.toml", dir / "agent.d" / "gone.toml");
  EXPECT_THAT(agent_errors(dir / "agent.toml"),
              ElementsAre((dir / "agent.d" / "gone.toml").string() +
                          ": not a regular file (drop-ins must be files named *.toml)"));
}

TEST(ConfigDropIns, ADropInPathThatIsNotADirectoryIsAnError) {
  testing::TempDir dir("st-dropin");
  testing::write_file(dir / "agent.toml", k_agent_main);
  testing::write_file(dir / "agent.d", "");
  EXPECT_THAT(agent_errors(dir / "agent.toml"),
              ElementsAre((dir / "agent.d").string() + ": drop-in path is not a directory"));
}

TEST(ConfigReload, RestartOnlyChangesListKeysNotDeclaredReloads) {
  const auto before =
      config::parse_toml_text(std::string(k_agent_main) + "[buffer]\nmax_rows = 10\n", "a.toml");
  auto after_text = std::string(k_agent_main) + "[buffer]\nmax_rows = 20\n";
  after_text.replace(after_text.find("log_level = \"info\""), 18, "log_level = \"debug\"");
  after_text.replace(after_text.find("127.0.0.1:1883"), 14, "127.0.0.2:1883");
  after_text +=
      "[http]\nlisten = \"\"\n[[source]]\ntype = \"owncast\"\nname = \"o\"\n"
      "url = \"http://127.0.0.1:1/\"\ninterval = \"1s\"\n";
  const auto after = config::parse_toml_text(after_text, "a.toml");
  // log_level, [buffer] and [[source]] reload; the broker URL and [http] listen do not.
  EXPECT_THAT(config::restart_only_changes(agent::agent_root_spec(), before, after),
              ElementsAre("mqtt.url", "http.listen"));
  EXPECT_THAT(config::restart_only_changes(agent::agent_root_spec(), before, before),
              ::testing::IsEmpty());
}

}  // namespace
}  // namespace streamtrack
