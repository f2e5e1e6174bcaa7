// The daemons' configuration commands, run as an operator would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/harness.hpp"

namespace streamtrack::testing {
namespace {

using ::testing::HasSubstr;

class ConfigCli : public ::testing::TestWithParam<std::string> {};

TEST_P(ConfigCli, ConfigExamplePrintsTheShippedConfiguration) {
  const auto daemon = GetParam();
  const auto r =
      run_command({(bin_dir() / ("streamtrack-" + daemon)).string(), "config", "example"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, read_file(source_dir() / "conf" / (daemon + ".toml")))
      << "regenerate with: build/bin/streamtrack-" << daemon << " config example > conf/" << daemon
      << ".toml";
}

TEST_P(ConfigCli, CheckConfigReadsDropInsAndNamesTheFileOfAnError) {
  const auto daemon = GetParam();
  const auto binary = (bin_dir() / ("streamtrack-" + daemon)).string();
  TempDir dir("st-cli");
  const auto config = dir / (daemon + ".toml");
  write_file(config, read_file(source_dir() / "conf" / (daemon + ".toml")));
  std::filesystem::create_directory(dir / (daemon + ".d"));
  const auto good = dir / (daemon + ".d") / "10-good.toml";
  write_file(good, "[http]\nlisten = \"127.0.0.1:0\"\n");
  if (daemon == "web") write_file(good, "[web]\nlisten = \"127.0.0.1:0\"\n");
  auto r = run_command({binary, "--config", config.string(), "--check-config"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("drop-ins read: " + good.string()));

  const auto bad = dir / (daemon + ".d") / "20-bad.toml";
  write_file(bad, "\n[mqtt]\nlog_levle = \"debug\"\n");
  if (daemon == "web") write_file(bad, "\n[api]\nlog_levle = \"debug\"\n");
  r = run_command({binary, "--config", config.string(), "--check-config"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr(bad.string() + ":3:1: " + (daemon == "web" ? "api" : "mqtt") +
                                  ": log_levle: unknown key"));
}

// The agent's log lines in each log_format, from a poll that fails (nothing listens).
TEST(LogFormatCli, TheAgentLogsInTheConfiguredFormat) {
  TempDir dir("st-logformat");
  const auto port = std::to_string(free_port());
  for (const std::string format : {"journal", "logfmt", "json"}) {
    SCOPED_TRACE(format);
    write_file(dir / "agent.toml", "[agent]\nid = \"rig\"\nstate_dir = \"" +
                                       (dir / "state").string() + "\"\nlog_format = \"" + format +
                                       "\"\n[[source]]\ntype = \"owncast\"\nname = \"o\"\n"
                                       "url = \"http://127.0.0.1:" +
                                       port +
                                       "/api/status\"\ninterval = \"1s\"\n"
                                       "timeout = \"1s\"\n");
    const auto r = run_command({(bin_dir() / "streamtrack-agent").string(), "--config",
                                (dir / "agent.toml").string(), "--once"});
    std::istringstream lines(r.output);
    std::string line;
    int seen = 0;
    while (std::getline(lines, line)) {
      if (line.empty()) continue;
      ++seen;
      if (format == "journal") {
        EXPECT_EQ(line.rfind("<4>poll failed source=o ", 0), 0u) << line;
      } else if (format == "logfmt") {
        EXPECT_EQ(line.rfind("ts=", 0), 0u) << line;
        EXPECT_THAT(line, HasSubstr(" level=warning msg=\"poll failed\" source=o type=owncast "));
      } else {
        const auto j = nlohmann::json::parse(line, nullptr, false);
        ASSERT_TRUE(j.is_object()) << line;
        EXPECT_EQ(j.value("level", ""), "warning") << line;
        EXPECT_EQ(j.value("msg", ""), "poll failed") << line;
        EXPECT_EQ(j.value("source", ""), "o") << line;
      }
    }
    EXPECT_GE(seen, 1) << r.output;
  }
}

INSTANTIATE_TEST_SUITE_P(Daemons, ConfigCli, ::testing::Values("agent", "collector", "web"));

}  // namespace
}  // namespace streamtrack::testing
