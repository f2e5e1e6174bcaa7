// The daemons' configuration commands, run as an operator would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/harness.hpp"

namespace streamtrack::testing {
namespace {

using ::testing::HasSubstr;

class ConfigCli : public ::testing::TestWithParam<std::string> {};

TEST_P(ConfigCli, ConfigExamplePrintsTheShippedConfiguration) {
  const auto daemon = GetParam();
  const auto r = run_command({(bin_dir() / ("streamtrack-" + daemon)).string(), "config",
                              "example"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, read_file(source_dir() / "conf" / (daemon + ".toml")))
      << "regenerate with: build/bin/streamtrack-" << daemon << " config example > conf/"
      << daemon << ".toml";
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

INSTANTIATE_TEST_SUITE_P(Daemons, ConfigCli, ::testing::Values("agent", "collector", "web"));

}  // namespace
}  // namespace streamtrack::testing
