// `config example`: the commented configuration generated from the key declarations, and the
// shipped conf/*.toml that must equal it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/config/agent_config.hpp"
#include "collector/alerts/rule.hpp"
#include "collector/config/collector_config.hpp"
#include "common/config/example.hpp"
#include "common/config/toml_file.hpp"
#include "tests/support/harness.hpp"
#include "web/config/web_config.hpp"

namespace streamtrack {
namespace {

using ::testing::HasSubstr;

TEST(ConfigExample, ShippedConfigsAreTheGeneratedExamples) {
  const auto conf = testing::source_dir() / "conf";
  // On a difference, regenerate with: build/bin/streamtrack-agent config example > conf/agent.toml
  EXPECT_EQ(testing::read_file(conf / "agent.toml"), agent::agent_config_example());
  EXPECT_EQ(testing::read_file(conf / "collector.toml"), collector::collector_config_example());
  EXPECT_EQ(testing::read_file(conf / "web.toml"), web::web_config_example());
}

TEST(ConfigExample, GeneratedExamplesAreValidConfigurations) {
  EXPECT_NO_THROW(agent::parse_agent_config(agent::agent_config_example(), "agent.toml"));
  EXPECT_NO_THROW(
      collector::parse_collector_config(collector::collector_config_example(), "collector.toml"));
  EXPECT_NO_THROW(web::parse_web_config(web::web_config_example(), "web.toml"));
}

TEST(ConfigExample, EachKeyShowsDescriptionDefaultConstraintsAndReload) {
  const auto agent = agent::agent_config_example();
  EXPECT_THAT(agent,
              HasSubstr("# Least severe level logged. Default: \"info\". One of \"error\", "
                        "\"warning\", \"notice\", \"info\", \"debug\".\n# Applied on SIGHUP.\n"
                        "log_level = \"info\"\n"));
  EXPECT_THAT(agent, HasSubstr("# QoS 1 publishes awaiting the broker's PUBACK at once. Default: "
                               "256. From 1 to 65535. Applied at\n# start (restart to change).\n"
                               "# max_inflight = 256\n"));
  EXPECT_THAT(agent, HasSubstr("At least \"1s\"."));  // duration limits as durations
  EXPECT_THAT(agent, HasSubstr("\n[[source]]\ntype = \"nginx_rtmp\"\n"));
  EXPECT_THAT(agent, HasSubstr("\n# [[source]]\n# type = \"owncast\"\n"));
  EXPECT_THAT(agent, HasSubstr("# Keys of each [[source]]:\n#   type: "));
  const auto collector = collector::collector_config_example();
  EXPECT_THAT(collector, HasSubstr("Required. Applied\n# at start (restart to change).\n"
                                   "dsn = \"host=127.0.0.1 port=5432 dbname=streamtrack "
                                   "user=streamtrack\"\n"));
  EXPECT_THAT(collector, HasSubstr("Entries are applied on SIGHUP."));
}

// Every entry of every table array, commented out or not, is a valid entry (the agent's
// [[source]] entries: SourceRegistry.EveryExampleValidatesAndNamesItsType).
TEST(ConfigExample, EveryAlertAndWebhookExampleValidates) {
  const auto& root = collector::collector_root_spec();
  const auto* alerts = root.find("alert");
  const auto* webhooks = root.find("alert_webhook");
  ASSERT_NE(alerts, nullptr);
  ASSERT_NE(webhooks, nullptr);
  ASSERT_FALSE(webhooks->examples.empty());
  for (const auto& example : alerts->examples) {
    SCOPED_TRACE(example.toml);
    const std::string text = "[postgres]\ndsn = \"x\"\n[[alert_webhook]]\n" +
                             webhooks->examples[0].toml + "[[alert]]\n" + example.toml;
    try {
      const auto c = collector::parse_collector_config(text, "collector.toml");
      EXPECT_EQ(c.alerts.size(), 1u);
    } catch (const config::ConfigError& e) {
      ADD_FAILURE() << e.what();
    }
  }
}

TEST(SeedMonitoring, ShippedCollectorConfigEnablesTheSeedRules) {
  const auto c =
      collector::load_collector_config((testing::source_dir() / "conf/collector.toml").string());
  const auto alerting = collector::alerts::read_alerting(c);
  std::map<std::string, const collector::alerts::Rule*> by_kind;
  for (const auto& r : alerting.rules) by_kind[std::string(rule_kind_name(r.kind))] = &r;
  using collector::alerts::Rule;
  auto rule = [&](const std::string& kind) -> const Rule& {
    EXPECT_EQ(by_kind.count(kind), 1u) << kind;
    static const Rule none{};
    return by_kind.count(kind) ? *by_kind[kind] : none;
  };
  EXPECT_EQ(rule("poll_errors").threshold, 5.0);    // error rate 5 %
  EXPECT_EQ(rule("ingest_errors").threshold, 5.0);  // error rate 5 %
  EXPECT_EQ(rule("write_latency").threshold, 1.0);  // response time 1 s
  EXPECT_EQ(rule("memory").threshold, 90.0);        // memory 90 %
  EXPECT_EQ(rule("went_offline").severity, "warning");
  EXPECT_EQ(rule("viewer_drop").threshold, 50.0);
  EXPECT_EQ(rule("agent_offline").severity, "error");
  EXPECT_EQ(alerting.rules.size(), 7u);
}

TEST(SeedMonitoring, SeverityLevelsOfTheSeedAreAccepted) {
  for (const char* severity : {"info", "warning", "error", "critical"}) {
    const std::string text = std::string("[postgres]\ndsn = \"x\"\n[[alert]]\nname = \"a\"\n") +
                             "rule = \"went_live\"\nseverity = \"" + severity + "\"\n";
    EXPECT_NO_THROW(collector::parse_collector_config(text, "collector.toml")) << severity;
  }
  try {
    collector::parse_collector_config(
        "[postgres]\ndsn = \"x\"\n[[alert]]\nname = \"a\"\nrule = \"went_live\"\n"
        "severity = \"fatal\"\n",
        "collector.toml");
    ADD_FAILURE() << "severity \"fatal\" accepted";
  } catch (const config::ConfigError& e) {
    EXPECT_THAT(e.messages(), ::testing::ElementsAre(
                                  "collector.toml:6:12: alert \"a\": severity: expected one of "
                                  "\"critical\", \"error\", \"warning\", \"info\", got \"fatal\""));
  }
}

TEST(ConfigExample, RendersNestedTablesAndTableArraysAsValidToml) {
  static const config::TableSpec inner{{{.name = "x",
                                         .type = config::ValueType::integer,
                                         .default_value = std::int64_t{3},
                                         .description = "X."}}};
  static const config::TableSpec entry{{{.name = "k", .required = true, .description = "K."}}};
  static const config::TableSpec table{
      {{.name = "a",
        .default_value = std::string("q\"uote"),
        .description = "A.",
        .reloads = true,
        .example_active = true},
       {.name = "inner", .type = config::ValueType::table, .nested = &inner},
       {.name = "list",
        .type = config::ValueType::table_array,
        .description = "Entries.",
        .nested = &entry,
        .examples = {{.comment = "One.", .toml = "k = \"v\"\n", .active = true}}}},
      "The table."};
  static const config::TableSpec root{
      {{.name = "t", .type = config::ValueType::table, .nested = &table}}};
  const auto text = config::render_example(root, "Header line.");
  EXPECT_EQ(
      text,
      "# Header line.\n"
      "\n# The table.\n[t]\n# A. Default: \"q\\\"uote\". Applied on SIGHUP.\na = \"q\\\"uote\"\n"
      "\n[t.inner]\n# X. Default: 3. Applied at start (restart to change).\n# x = 3\n"
      "\n# Entries. Entries are applied at start.\n# Keys of each [[t.list]]:\n"
      "#   k: K. Required. Applied at start (restart to change).\n"
      "\n# One.\n[[t.list]]\nk = \"v\"\n");
  const auto parsed = config::parse_toml_text(text, "x.toml");
  EXPECT_EQ(parsed.at_path("t.a").value<std::string>(), "q\"uote");
  EXPECT_EQ(parsed.at_path("t.list[0].k").value<std::string>(), "v");
}

}  // namespace
}  // namespace streamtrack
