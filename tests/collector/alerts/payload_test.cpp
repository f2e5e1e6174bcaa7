#include "collector/alerts/payload.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "collector/alerts/sinks/mqtt_sink.hpp"
#include "collector/alerts/sinks/webhook_sink.hpp"

namespace streamtrack::collector::alerts {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

Notification resolved_drop() {
  Notification n;
  n.event = Event::resolved;
  n.collector = "c1";
  n.at = *parse_rfc3339("2026-11-25T10:12:30Z");
  auto& a = n.alert;
  a.rule = "drop";
  a.key = {"twitch", "live/main"};
  a.severity = "critical";
  a.labels = {{"alertname", "drop"},  {"rule", "viewer_drop"},  {"severity", "critical"},
              {"platform", "twitch"}, {"channel", "live/main"}, {"agent", "a1"}};
  a.summary = "twitch/live/main viewers fell 60% (1000 to 400) within 5m";
  a.state = AlertState::resolved;
  a.value = 12.5;
  a.threshold = 50;
  a.active_since = *parse_rfc3339("2026-11-25T09:59:30Z");
  a.fired_at = *parse_rfc3339("2026-11-25T10:00:00Z");
  a.resolved_at = n.at;
  return n;
}

TEST(PayloadTest, GenericJson) {
  const auto j = json::parse(alert_json(resolved_drop()));
  EXPECT_EQ(j["event"], "resolved");
  EXPECT_EQ(j["rule"], "drop");
  EXPECT_EQ(j["key"], json::array({"twitch", "live/main"}));
  EXPECT_EQ(j["state"], "resolved");
  EXPECT_EQ(j["labels"]["channel"], "live/main");
  EXPECT_EQ(j["threshold"], 50.0);
  EXPECT_EQ(j["fired_at"], "2026-11-25T10:00:00.000Z");
  EXPECT_EQ(j["resolved_at"], "2026-11-25T10:12:30.000Z");
  EXPECT_EQ(j["duration_s"], 750.0);
  EXPECT_EQ(j["collector"], "c1");
}

TEST(PayloadTest, AlertmanagerArray) {
  auto n = resolved_drop();
  auto j = json::parse(alertmanager_json(n, 8h));
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["labels"]["alertname"], "drop");
  EXPECT_EQ(j[0]["startsAt"], "2026-11-25T10:00:00.000Z");
  EXPECT_EQ(j[0]["endsAt"], "2026-11-25T10:12:30.000Z");
  EXPECT_EQ(j[0]["generatorURL"], "streamtrack://collector/c1/alerts/drop/twitch/live%2Fmain");
  EXPECT_EQ(j[0]["annotations"]["summary"], n.alert.summary);
  n.event = Event::firing;
  n.alert.state = AlertState::firing;
  n.alert.resolved_at.reset();
  j = json::parse(alertmanager_json(n, 8h));
  EXPECT_EQ(j[0]["endsAt"], "2026-11-25T18:12:30.000Z");  // now + hold
}

TEST(PayloadTest, ChatText) {
  const auto n = resolved_drop();
  EXPECT_EQ(chat_text(n),
            "[RESOLVED] drop (critical) twitch/live/main viewers fell 60% (1000 to 400) within "
            "5m after 12m30s");
  const auto j = json::parse(chat_json(n));
  EXPECT_EQ(j["text"], chat_text(n));  // nothing to escape in this one
  EXPECT_EQ(j["content"], chat_text(n));
  EXPECT_EQ(json::parse(sinks::webhook_body(WebhookPreset::slack, n, 1h)), j);
  EXPECT_TRUE(json::parse(sinks::webhook_body(WebhookPreset::alertmanager, n, 1h)).is_array());
  EXPECT_EQ(json::parse(sinks::webhook_body(WebhookPreset::json, n, 1h))["event"], "resolved");
}

TEST(PayloadTest, ChannelNamesCannotMentionAnyoneInChat) {
  auto n = resolved_drop();
  n.alert.summary = "twitch/@everyone <!channel> <@U123> & @here viewers fell";
  const auto j = json::parse(chat_json(n));
  const std::string slack = j["text"];
  const std::string discord = j["content"];
  // Slack: only <!...> and <@...> mention; with &, < and > escaped nothing is a mention.
  EXPECT_EQ(slack.find('<'), std::string::npos) << slack;
  EXPECT_NE(slack.find("&lt;!channel&gt; &lt;@U123&gt; &amp; @here"), std::string::npos) << slack;
  // Discord: no @ directly followed by a name, and no mention parsing at all.
  EXPECT_EQ(discord.find("@everyone"), std::string::npos) << discord;
  EXPECT_EQ(discord.find("@here"), std::string::npos) << discord;
  EXPECT_NE(discord.find("@\u200beveryone"), std::string::npos) << discord;
  EXPECT_EQ(j["allowed_mentions"], json::parse(R"({"parse":[]})"));
}

TEST(MqttSinkTest, RetainedStateClearedOnResolveAndEventsKeptUntilConnected) {
  struct Sent {
    std::string topic;
    std::string payload;
    bool retained;
  };
  std::vector<Sent> sent;
  bool connected = false;
  sinks::MqttSink sink(wire::Topics("st/v1"),
                       [&](const std::string& t, const std::string& p, bool r) {
                         if (!connected) return false;
                         sent.push_back({t, p, r});
                         return true;
                       });
  auto firing = resolved_drop();
  firing.event = Event::firing;
  firing.alert.state = AlertState::firing;
  firing.alert.resolved_at.reset();
  sink.deliver(firing);
  EXPECT_TRUE(sent.empty());
  EXPECT_EQ(sink.flush(), 2u);
  connected = true;
  sink.deliver(resolved_drop());
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent[0].topic, "st/v1/alerts/drop/twitch/live%2Fmain");
  EXPECT_TRUE(sent[0].retained);
  EXPECT_EQ(json::parse(sent[0].payload)["state"], "firing");
  EXPECT_EQ(sent[1].topic, "st/v1/alerts/events/drop/twitch/live%2Fmain");
  EXPECT_FALSE(sent[1].retained);
  EXPECT_EQ(json::parse(sent[1].payload)["event"], "firing");
  EXPECT_EQ(sent[2].topic, sent[0].topic);
  EXPECT_TRUE(sent[2].retained);
  EXPECT_EQ(sent[2].payload, "");  // clears the retained alert
  EXPECT_EQ(json::parse(sent[3].payload)["event"], "resolved");
  EXPECT_EQ(json::parse(sent[3].payload)["duration_s"], 750.0);
}

}  // namespace
}  // namespace streamtrack::collector::alerts
