// Drop-in directories: collector.d/*.toml merged after collector.toml.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "collector/config/collector_config.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

TEST(ConfigDropIns, CollectorRulesAndWebhooksAppend) {
  testing::TempDir dir("st-dropin");
  testing::write_file(dir / "collector.toml",
                      "[postgres]\ndsn = \"host=127.0.0.1\"\n"
                      "[[alert]]\nname = \"offline\"\nrule = \"went_offline\"\n");
  fs::create_directory(dir / "collector.d");
  testing::write_file(dir / "collector.d" / "hooks.toml",
                      "[[alert_webhook]]\nname = \"am\"\nurl = \"http://127.0.0.1:9093/\"\n"
                      "[[alert]]\nname = \"live\"\nrule = \"went_live\"\nwebhooks = [\"am\"]\n");
  testing::write_file(dir / "collector.d" / "rules.toml",
                      "[[alert]]\nname = \"offline\"\nrule = \"went_offline\"\n");
  try {
    collector::load_collector_config((dir / "collector.toml").string());
    ADD_FAILURE() << "a duplicate rule name across files was accepted";
  } catch (const config::ConfigError& e) {
    EXPECT_THAT(e.messages(), ElementsAre((dir / "collector.d" / "rules.toml").string() +
                                          ":2:8: alert \"offline\": name: another alert already "
                                          "has the name \"offline\""));
  }
  fs::remove(dir / "collector.d" / "rules.toml");
  const auto c = collector::load_collector_config((dir / "collector.toml").string());
  ASSERT_EQ(c.alerts.size(), 2u);
  EXPECT_EQ(c.alerts[0].name, "offline");
  EXPECT_EQ(c.alerts[1].name, "live");
}

}  // namespace
}  // namespace streamtrack
