#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include "collector/config/collector_config.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

std::vector<std::string> collector_errors(const std::string& text) {
  try {
    collector::parse_collector_config(text, "collector.toml");
    return {"OK"};
  } catch (const config::ConfigError& e) {
    return e.messages();
  }
}

TEST(CollectorConfig, MinimalConfigAndDefaults) {
  const auto c = collector::parse_collector_config(
      "[postgres]\ndsn = \"host=127.0.0.1 dbname=st\"\n", "collector.toml");
  EXPECT_EQ(c.postgres_dsn, "host=127.0.0.1 dbname=st");
  EXPECT_EQ(c.pool_size, 2);
  EXPECT_EQ(c.batch_max_rows, 5000);
  EXPECT_EQ(c.batch_max_delay, 200ms);
  EXPECT_EQ(c.batch_min_delay, 100ms);
  EXPECT_EQ(c.premake_months, 3);
  EXPECT_EQ(c.retention_months, 0);
  EXPECT_EQ(c.shared_group, "");
  EXPECT_EQ(c.http_listen, "127.0.0.1:9465");
}

TEST(CollectorConfig, Errors) {
  EXPECT_THAT(collector_errors("[collector]\nid = \"c\"\n"),
              ElementsAre("collector.toml:1:1: postgres: required key is missing"));
  EXPECT_THAT(collector_errors("[postgres]\n"),
              ElementsAre("collector.toml:1:1: postgres: dsn: required key is missing"));
  EXPECT_THAT(collector_errors("[postgres]\ndsn = \"x\"\npool_size = 99\n"),
              ElementsAre("collector.toml:3:13: postgres: pool_size: must be at most 32, got 99"));
  EXPECT_THAT(
      collector_errors(
          "[postgres]\ndsn = \"x\"\n[batch]\nmax_delay = \"50ms\"\nmin_delay = \"100ms\"\n"),
      ElementsAre("collector.toml:5:13: batch: min_delay: must be at most max_delay (50 ms)"));
  EXPECT_THAT(collector_errors("[postgres]\ndsn = \"x\"\n[batch]\nmin_delay = \"0s\"\n"),
              ElementsAre("OK"));
  // Durations beyond their bounds (which no clock arithmetic can overflow) are errors.
  EXPECT_THAT(
      collector_errors("[postgres]\ndsn = \"x\"\n[batch]\nmax_delay = \"200000d\"\n"
                       "min_delay = \"200000d\"\n[live]\nmin_interval = \"200000d\"\n"),
      ElementsAre("collector.toml:4:13: batch: max_delay: must be at most 1h, got \"200000d\"",
                  "collector.toml:5:13: batch: min_delay: must be at most 1h, got \"200000d\"",
                  "collector.toml:7:16: live: min_interval: must be at most 1d, got \"200000d\""));
  // Every duration: at most ten years (config::k_max_duration_ms); PostgreSQL's millisecond
  // settings: what 32 bits count.
  EXPECT_THAT(collector_errors("[postgres]\ndsn = \"x\"\nstatement_timeout = \"25d\"\n"
                               "[retention]\ningest_rejects = \"3651d\"\n"),
              ElementsAre("collector.toml:3:21: postgres: statement_timeout: must be at most 24d, "
                          "got \"25d\"",
                          "collector.toml:5:18: retention: ingest_rejects: must be at most 3650d, "
                          "got \"3651d\""));
  EXPECT_THAT(collector_errors("[postgres]\ndsn = \"x\"\n[batch]\nmax_delay = \"1h\"\n"
                               "min_delay = \"1h\"\n[live]\nmin_interval = \"1d\"\n"),
              ElementsAre("OK"));
  // The default min_delay yields to a shorter max_delay (a configuration older than min_delay).
  EXPECT_EQ(collector::parse_collector_config(
                "[postgres]\ndsn = \"x\"\n[batch]\nmax_delay = \"5ms\"\n", "collector.toml")
                .batch_min_delay,
            5ms);
  EXPECT_THAT(
      collector_errors("[postgres]\ndsn = \"x\"\n[mqtt]\nshared_group = \"a/b\"\n"),
      ElementsAre("collector.toml:4:16: mqtt: shared_group: must not contain '/', '+' or '#'"));
  EXPECT_THAT(
      collector_errors(
          "[postgres]\ndsn = \"x\"\n[[alert]]\nname = \"a\"\nrule = \"went_sideways\"\n"),
      ElementsAre(::testing::StartsWith("collector.toml:5:8: alert \"a\": rule: expected one of "
                                        "\"went_live\", ")));
  EXPECT_THAT(
      collector_errors("[postgres]\ndsn = \"x\"\n[[alert]]\nname = \"a\"\nrule = \"went_live\"\n"
                       "[[alert]]\nname = \"a\"\nrule = \"went_live\"\n"),
      ElementsAre(
          "collector.toml:7:8: alert \"a\": name: another alert already has the name \"a\""));
}

TEST(ShippedExamples, PassValidation) {
  const auto root = testing::source_dir();
  EXPECT_NO_THROW(collector::load_collector_config((root / "conf/collector.toml").string()));
}

}  // namespace
}  // namespace streamtrack
