#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "collector/alerts/rule.hpp"

namespace streamtrack::collector::alerts {
namespace {

using ::testing::ElementsAre;

const std::string k_base = "[postgres]\ndsn = \"host=127.0.0.1\"\n";

std::vector<std::string> errors(const std::string& text) {
  try {
    parse_collector_config(k_base + text, "c.toml");
  } catch (const config::ConfigError& e) {
    return e.messages();
  }
  return {};
}

TEST(AlertConfigTest, ReadsRulesAndWebhooks) {
  const auto c = parse_collector_config(k_base + R"(
[[alert_webhook]]
name = "am"
url = "http://127.0.0.1:9093/api/v2/alerts"
preset = "alertmanager"
timeout = "2s"
[alert_webhook.headers]
X-Team = "ops"

[[alert]]
name = "drop"
rule = "viewer_drop"
severity = "critical"
threshold = 50
resolve_threshold = 30
window = "10m"
for = "1m"
keep_firing_for = "2m"
repeat_interval = "1h"
webhooks = ["am"]
[alert.labels]
team = "video"
[alert.match]
platform = "twitch"
channel = "team-*"

[[alert]]
name = "errors"
rule = "poll_errors"
)",
                                        "c.toml");
  const auto a = read_alerting(c);
  ASSERT_EQ(a.rules.size(), 2u);
  const auto& r = a.rules[0];
  EXPECT_EQ(r.kind, RuleKind::viewer_drop);
  EXPECT_EQ(r.severity, "critical");
  EXPECT_EQ(r.threshold, 50);
  EXPECT_EQ(r.resolve_threshold, 30);
  EXPECT_EQ(r.window, std::chrono::minutes{10});
  EXPECT_EQ(r.for_duration, std::chrono::minutes{1});
  EXPECT_EQ(r.keep_firing_for, std::chrono::minutes{2});
  EXPECT_EQ(r.repeat_interval, std::chrono::hours{1});
  EXPECT_EQ(r.labels.at("team"), "video");
  EXPECT_EQ(r.match_platform, "twitch");
  EXPECT_EQ(r.match_channel, "team-*");
  EXPECT_EQ(r.match_agent, "*");
  EXPECT_THAT(r.webhooks, ElementsAre("am"));
  // poll_errors defaults: 5 %, over 5 minutes.
  EXPECT_EQ(a.rules[1].threshold, 5);
  EXPECT_EQ(a.rules[1].resolve_threshold, 5);
  EXPECT_EQ(a.rules[1].window, std::chrono::minutes{5});
  ASSERT_EQ(a.webhooks.size(), 1u);
  EXPECT_EQ(a.webhooks[0].preset, WebhookPreset::alertmanager);
  EXPECT_EQ(a.webhooks[0].timeout, std::chrono::seconds{2});
  EXPECT_EQ(a.webhooks[0].headers.at("X-Team"), "ops");
}

TEST(AlertConfigTest, RuleSpecificErrorsNameThePlace) {
  EXPECT_THAT(
      errors(R"(
[[alert]]
name = "drop"
rule = "viewer_drop"
threshold = 50
resolve_threshold = 60
)"),
      ElementsAre("c.toml:8:21: alert \"drop\": resolve_threshold: must not be above "
                  "threshold (50): the rule fires above it",
                  "c.toml:4:1: alert \"drop\": window: rule \"viewer_drop\" needs a window"));
  EXPECT_THAT(errors(R"(
[[alert]]
name = "bitrate"
rule = "low_bitrate"
threshold = 1000
resolve_threshold = 900
)"),
              ElementsAre("c.toml:8:21: alert \"bitrate\": resolve_threshold: must not be below "
                          "threshold (1000): the rule fires below it"));
  EXPECT_THAT(errors(R"(
[[alert]]
name = "live"
rule = "went_live"
threshold = 1
window = "5m"
)"),
              ElementsAre("c.toml:7:13: alert \"live\": threshold: rule \"went_live\" has no "
                          "threshold",
                          "c.toml:8:10: alert \"live\": window: rule \"went_live\" has no window"));
  EXPECT_THAT(errors(R"(
[[alert]]
name = "status"
rule = "low_bitrate"
webhooks = ["nowhere"]
[alert.match]
agent = "a1"
[alert.labels]
severity = "page"
)"),
              ElementsAre("c.toml:5:8: alert \"status\": name: \"status\" is reserved (metrics, "
                          "status, health, ack, events)",
                          "c.toml:10:1: alert \"status\": labels: \"severity\" is set by the "
                          "collector",
                          "c.toml:4:1: alert \"status\": threshold: rule \"low_bitrate\" needs a "
                          "threshold",
                          "c.toml:7:12: alert \"status\": webhooks: no [[alert_webhook]] is named "
                          "\"nowhere\""));
  EXPECT_THAT(errors(R"(
[[alert]]
name = "mem"
rule = "memory"
[alert.match]
channel = "x"

[[alert_webhook]]
name = "w"
url = "ftp://x"
preset = "teams"
)"),
              ElementsAre("c.toml:13:10: alert_webhook \"w\": preset: expected one of \"json\", "
                          "\"alertmanager\", \"slack\", got \"teams\"",
                          "c.toml:12:7: alert_webhook \"w\": url: expected an http:// or "
                          "https:// URL",
                          "c.toml:8:11: alert \"mem\".match: channel: rule \"memory\" does not "
                          "watch streams"));
}

TEST(AlertConfigTest, GlobMatch) {
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("team-*", "team-red"));
  EXPECT_TRUE(glob_match("*-red", "team-red"));
  EXPECT_TRUE(glob_match("t*m*d", "team-red"));
  EXPECT_FALSE(glob_match("team-*", "teamred"));
  EXPECT_FALSE(glob_match("abc", "abcd"));
}

}  // namespace
}  // namespace streamtrack::collector::alerts
