// The per-kind table of rule.cpp: every kind has a name, an evaluator that keys its candidates
// the way its scope says, and a window requirement that decides what a config may say.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "collector/alerts/engine.hpp"
#include "collector/alerts/evaluation.hpp"
#include "collector/alerts/rule.hpp"

namespace streamtrack::collector::alerts {
namespace {

using namespace std::chrono_literals;

std::vector<RuleKind> every_kind() {
  std::vector<RuleKind> out;
  for (std::size_t i = 0; i < k_rule_kind_count; ++i) out.push_back(static_cast<RuleKind>(i));
  return out;
}

TEST(RuleKindTable, EveryKindHasANameAndAnEvaluator) {
  std::set<std::string_view> names;
  for (const auto kind : every_kind()) {
    const auto name = rule_kind_name(kind);
    EXPECT_EQ(parse_rule_kind(name), kind) << name;
    EXPECT_TRUE(names.insert(name).second) << name;
    EXPECT_NE(evaluator_of(kind), nullptr) << name;
  }
  EXPECT_EQ(names.size(), 16u);
  EXPECT_FALSE(parse_rule_kind("agent-offline"));
}

// One observed channel (a1's twitch/foo, live), agent a1 with one source, and the collector.
History one_of_each(TimePoint now) {
  History h;
  auto& c = h.channels[{"twitch", "foo"}];
  c.platform = "twitch";
  c.channel = "foo";
  c.agent = "a1";
  c.first_ts = c.last_ts = c.last_received = now;
  c.live = true;
  c.bitrate = 3000;
  auto& a = h.agents["a1"];
  a.state = "online";
  a.last_seen = now;
  a.health = wire::Health{};
  a.polls["rig"] = {{now - 1min, 10, 0}, {now, 20, 1}};
  h.self.last = CollectorObservation{};
  return h;
}

TEST(RuleKindTable, EachEvaluatorKeysItsCandidatesByItsScope) {
  const auto now = *parse_rfc3339("2026-11-25T10:00:00Z");
  const auto seen = one_of_each(now);
  const std::map<std::string, Alert> open;
  const std::string collector = "c1";
  for (const auto kind : every_kind()) {
    Rule rule;
    rule.name = "r";
    rule.kind = kind;
    rule.window = 1min;
    const EvalContext cx{rule, seen, open, collector, now};
    const auto candidates = evaluator_of(kind)(cx);
    ASSERT_EQ(candidates.size(), 1u) << rule_kind_name(kind);
    const auto& key = candidates[0].key;
    switch (scope_of(kind)) {
      case Scope::stream:
        EXPECT_EQ(key, (std::vector<std::string>{"twitch", "foo"})) << rule_kind_name(kind);
        EXPECT_EQ(candidates[0].labels.at("agent"), "a1");
        break;
      case Scope::agent:
        EXPECT_EQ(key, (kind == RuleKind::poll_errors ? std::vector<std::string>{"a1", "rig"}
                                                      : std::vector<std::string>{"a1"}))
            << rule_kind_name(kind);
        break;
      case Scope::collector:
        EXPECT_EQ(key, std::vector<std::string>{"c1"}) << rule_kind_name(kind);
        EXPECT_EQ(candidates[0].labels.at("collector"), "c1");
        break;
    }
  }
}

// What the generic validation says about a rule's window, given or not.
std::vector<std::string> window_errors(RuleKind kind, bool with_window) {
  const std::string text =
      "[postgres]\ndsn = \"host=127.0.0.1\"\n[[alert]]\nname = \"r\"\n"
      "rule = \"" +
      std::string(rule_kind_name(kind)) + "\"\n" + (with_window ? "window = \"1m\"\n" : "");
  std::vector<std::string> out;
  try {
    parse_collector_config(text, "c.toml");
  } catch (const config::ConfigError& e) {
    for (const auto& m : e.messages()) {
      if (m.find("window") != std::string::npos) out.push_back(m);
    }
  }
  return out;
}

TEST(RuleKindTable, TheWindowRequirementDecidesWhatAConfigMaySay) {
  for (const auto kind : every_kind()) {
    const auto name = std::string(rule_kind_name(kind));
    const auto use = window_use_of(kind);
    const auto given = window_errors(kind, true);
    const auto missing = window_errors(kind, false);
    switch (use) {
      case WindowUse::none:
        EXPECT_THAT(given, ::testing::ElementsAre(
                               ::testing::HasSubstr("rule \"" + name + "\" has no window")));
        EXPECT_TRUE(missing.empty()) << name;
        break;
      case WindowUse::optional:
        EXPECT_TRUE(given.empty()) << name;
        EXPECT_TRUE(missing.empty()) << name;
        break;
      case WindowUse::required:
        EXPECT_TRUE(given.empty()) << name;
        EXPECT_THAT(missing, ::testing::ElementsAre(
                                 ::testing::HasSubstr("rule \"" + name + "\" needs a window")));
        break;
    }
  }
  EXPECT_EQ(window_use_of(RuleKind::viewer_drop), WindowUse::required);
  EXPECT_EQ(window_use_of(RuleKind::poll_errors), WindowUse::optional);
  EXPECT_EQ(window_use_of(RuleKind::went_live), WindowUse::none);
}

TEST(RuleKindTable, AnOptionalWindowDefaultsToFiveMinutes) {
  const auto config = parse_collector_config(
      "[postgres]\ndsn = \"host=127.0.0.1\"\n[[alert]]\nname = \"e\"\nrule = \"poll_errors\"\n",
      "c.toml");
  EXPECT_EQ(read_alerting(config).rules.at(0).window, 5min);
}

// Inhibition asks which rule an alert belongs to, not what its labels say: an agent_offline
// alert restored without labels (state written by an older or foreign collector) still holds
// back the stream alerts of its agent.
TEST(RuleKindTable, InhibitionComparesRuleKindsNotLabels) {
  const auto now = *parse_rfc3339("2026-11-25T10:00:00Z");
  Rule down;
  down.name = "down";
  down.kind = RuleKind::agent_offline;
  Rule stale;
  stale.name = "stale";
  stale.kind = RuleKind::stale;
  stale.window = 30s;
  AlertEngine engine({down, stale}, "c1");

  Alert offline;
  offline.rule = "down";
  offline.key = {"a1"};
  offline.state = AlertState::firing;
  offline.active_since = now - 10min;
  offline.fired_at = now - 10min;
  offline.firing_sent = true;
  offline.last_notified = now;
  Alert silent;
  silent.rule = "stale";
  silent.key = {"twitch", "foo"};
  silent.labels = {{"agent", "a1"}, {"platform", "twitch"}, {"channel", "foo"}};
  silent.state = AlertState::firing;
  silent.active_since = now - 5min;
  silent.fired_at = now - 5min;
  engine.restore({offline, silent});

  EXPECT_TRUE(engine.tick(now + 1s).empty());
  bool held_back = false;
  for (const auto& a : engine.alerts()) {
    if (a.id() == "stale/twitch/foo") held_back = a.inhibited;
  }
  EXPECT_TRUE(held_back);
}

TEST(AlertId, EscapesEachPartAndJoinsWithSlashes) {
  EXPECT_EQ(alert_id("drop", {"twitch", "foo"}), "drop/twitch/foo");
  EXPECT_EQ(alert_id("a/b", {"x/y"}), "a%2Fb/x%2Fy");
  EXPECT_EQ(alert_key_id({"twitch", "a/b"}), "twitch/a%2Fb");
  EXPECT_EQ(alert_id("drop", {}), "drop");
  Alert a;
  a.rule = "drop";
  a.key = {"twitch", "foo"};
  EXPECT_EQ(a.id(), alert_id("drop", {"twitch", "foo"}));
}

}  // namespace
}  // namespace streamtrack::collector::alerts
