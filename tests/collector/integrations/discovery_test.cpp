// Home Assistant discovery payloads checked against the documented format (a saved copy in
// tests/fixtures/homeassistant/), the Discovery state machine with a manual clock, the live
// payload's chat rate and the [homeassistant] keys.
#include "collector/homeassistant/discovery.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "collector/config/collector_config.hpp"
#include "collector/live/live_publisher.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack::collector::homeassistant {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::HasSubstr;

const wire::Topics k_topics{"st/v1"};

json format() {
  return json::parse(streamtrack::testing::read_file(streamtrack::testing::source_dir() /
                                                     "tests/fixtures/homeassistant/"
                                                     "mqtt-discovery-format.json"));
}

std::set<std::string> strings(const json& array) {
  std::set<std::string> out;
  for (const auto& v : array) out.insert(v.get<std::string>());
  return out;
}

// Every way `m` can break the documented format, as readable failures.
void expect_documented(const Message& m, const Options& o) {
  SCOPED_TRACE(m.topic);
  const auto f = format();
  EXPECT_TRUE(m.retained) << "discovery configs are retained";
  // <prefix>/<component>/<node_id>/<object_id>/config
  std::smatch parts;
  ASSERT_TRUE(std::regex_match(m.topic, parts,
                               std::regex("^" + o.prefix + "/([^/]+)/([^/]+)/([^/]+)/config$")));
  const std::string component = parts[1];
  ASSERT_TRUE(f["components"].contains(component)) << component;
  const std::regex id_chars(f["topic"]["id_characters"].get<std::string>());
  EXPECT_TRUE(std::regex_match(std::string(parts[2]), id_chars)) << parts[2];
  EXPECT_TRUE(std::regex_match(std::string(parts[3]), id_chars)) << parts[3];

  const auto payload = json::parse(m.payload);
  const auto spec = f["components"][component];
  auto allowed = strings(spec["required"]);
  for (const auto& k : strings(spec["optional"])) allowed.insert(k);
  for (const auto& k : strings(spec["required"])) EXPECT_TRUE(payload.contains(k)) << k;
  for (const auto& [key, value] : payload.items()) EXPECT_TRUE(allowed.count(key)) << key;
  if (payload.contains("device_class")) {
    EXPECT_TRUE(strings(spec["device_class"]).count(payload["device_class"]))
        << payload["device_class"];
  }
  if (payload.contains("state_class")) {
    EXPECT_TRUE(strings(spec["state_class"]).count(payload["state_class"]))
        << payload["state_class"];
  }
  if (spec.contains("defaults")) {
    for (const auto& [key, value] : spec["defaults"].items()) {
      if (payload.contains(key)) {
        EXPECT_EQ(payload[key], value) << key;
      }
    }
  }
  // Grouped into a device: identifiers, and a unique_id on the entity.
  ASSERT_TRUE(payload.contains("device"));
  EXPECT_TRUE(payload.contains("unique_id"));
  const auto device_keys = strings(f["device"]["optional"]);
  bool identified = false;
  for (const auto& [key, value] : payload["device"].items()) {
    EXPECT_TRUE(device_keys.count(key)) << "device." << key;
    identified = identified || strings(f["device"]["requires_one_of"]).count(key) > 0;
  }
  EXPECT_TRUE(identified);
  for (const auto& k : strings(f["origin"]["required"])) EXPECT_TRUE(payload["origin"].contains(k));
  for (const auto& [key, value] : payload["origin"].items()) {
    EXPECT_TRUE(strings(f["origin"]["optional"]).count(key) || key == "name") << "origin." << key;
  }
}

TEST(HomeAssistantDiscovery, ChannelAndAgentConfigsFollowTheDocumentedFormat) {
  for (const Options& o : {Options{}, Options{"ha/discovery", 1h}}) {
    const auto channel = channel_configs(k_topics, o, "twitch", "somestreamer");
    ASSERT_EQ(channel.size(), 3u);
    for (const auto& m : channel) expect_documented(m, o);
    const auto agent = agent_configs(k_topics, o, "rig-1");
    ASSERT_EQ(agent.size(), 1u);
    expect_documented(agent[0], o);
  }
}

TEST(HomeAssistantDiscovery, OneDevicePerChannelReadingItsCommittedLiveTopic) {
  const auto configs = channel_configs(k_topics, {}, "owncast", "live/main");
  std::set<std::string> devices;
  std::set<std::string> unique_ids;
  std::map<std::string, json> by_name;
  for (const auto& m : configs) {
    const auto j = json::parse(m.payload);
    devices.insert(j["device"].dump());
    unique_ids.insert(j["unique_id"]);
    EXPECT_EQ(j["state_topic"], "st/v1/live/owncast/live%2Fmain");
    by_name[j["name"]] = j;
  }
  EXPECT_EQ(devices.size(), 1u);
  EXPECT_EQ(unique_ids.size(), 3u);
  EXPECT_EQ(json::parse(*devices.begin())["name"], "owncast live/main");
  EXPECT_EQ(by_name["Live"]["value_template"], "{{ 'ON' if value_json.live else 'OFF' }}");
  EXPECT_EQ(by_name["Viewers"]["value_template"], "{{ value_json.viewers }}");
  EXPECT_EQ(by_name["Chat per minute"]["value_template"], "{{ value_json.chat_per_minute }}");
  EXPECT_THAT(configs[0].topic, ::testing::StartsWith("homeassistant/binary_sensor/streamtrack-"));

  const auto agent = json::parse(agent_configs(k_topics, {}, "rig-1")[0].payload);
  EXPECT_EQ(agent["state_topic"], "st/v1/rig-1/status");
  EXPECT_EQ(agent["device_class"], "connectivity");
  EXPECT_EQ(agent["value_template"], "{{ 'ON' if value_json.state == 'online' else 'OFF' }}");
}

TEST(HomeAssistantDiscovery, HostileNamesNeverReachTopicsOrTemplates) {
  const std::string evil = "x/+/#\"}{{ states('lock.front') }}\n\xff";
  for (const auto& m : channel_configs(k_topics, {}, evil, evil)) {
    expect_documented(m, {});
    const auto j = json::parse(m.payload);  // valid JSON although the name is not UTF-8
    EXPECT_THAT(j["value_template"].get<std::string>(), ::testing::Not(HasSubstr("states(")));
  }
  // Different channels (even ones a naive join would confuse) are different devices.
  EXPECT_NE(channel_configs(k_topics, {}, "ab", "c")[0].topic,
            channel_configs(k_topics, {}, "a", "bc")[0].topic);
  EXPECT_NE(channel_configs(k_topics, {}, "a", "b")[0].topic,
            channel_configs(wire::Topics{"other/root"}, {}, "a", "b")[0].topic);
}

ingest::Item sample(const std::string& channel, TimePoint ts) {
  Sample s;
  s.agent = "rig";
  s.platform = "twitch";
  s.channel = channel;
  s.ts = ts;
  s.live = true;
  ingest::Item item;
  item.kind = ingest::Item::Kind::sample;
  item.sample = s;
  return item;
}

std::vector<std::string> topics_of(const std::vector<Message>& ms, bool empty) {
  std::vector<std::string> out;
  for (const auto& m : ms) {
    if (m.payload.empty() == empty) out.push_back(m.topic);
  }
  return out;
}

TEST(HomeAssistantDiscovery, AnnouncesOnceExpiresSilentChannelsAndFollowsAgents) {
  const TimePoint t0 = *parse_rfc3339("2026-11-25T00:00:00Z");
  Discovery d(k_topics, {"homeassistant", 1h});
  d.committed({sample("a", t0), sample("a", t0), sample("b", t0)}, t0);
  auto due = d.take(t0);
  EXPECT_EQ(topics_of(due, false).size(), 6u);
  d.committed({sample("a", t0)}, t0 + 50min);
  EXPECT_TRUE(d.take(t0 + 50min).empty()) << "announced once";

  // b was silent for more than forget_after: removed (empty retained configs); a stays.
  due = d.take(t0 + 61min);
  EXPECT_EQ(topics_of(due, true).size(), 3u);
  EXPECT_TRUE(topics_of(due, false).empty());
  for (const auto& m : channel_configs(k_topics, {}, "twitch", "b")) {
    EXPECT_THAT(topics_of(due, true), ::testing::Contains(m.topic));
  }
  // It comes back with its next commit.
  d.committed({sample("b", t0 + 70min)}, t0 + 70min);
  EXPECT_EQ(topics_of(d.take(t0 + 70min), false).size(), 3u);

  // Agents: announced on their status, removed when it is cleared; never expire.
  d.agent_status("rig-1", R"({"state":"online"})");
  d.agent_status("rig-1", R"({"state":"offline"})");
  due = d.take(t0 + 300min);
  EXPECT_EQ(topics_of(due, false), topics_of(agent_configs(k_topics, {}, "rig-1"), false));
  d.agent_status("rig-1", "");
  EXPECT_EQ(topics_of(d.take(t0 + 300min), true),
            topics_of(agent_configs(k_topics, {}, "rig-1"), false));
}

TEST(HomeAssistantDiscovery, ARestartedCollectorTakesOverRetainedConfigs) {
  const TimePoint t0 = *parse_rfc3339("2026-11-25T00:00:00Z");
  const Options o{"homeassistant", 1h};
  Discovery d(k_topics, o);
  const auto old = channel_configs(k_topics, o, "twitch", "gone");
  for (const auto& m : old) EXPECT_TRUE(d.config_seen(m.topic, m.payload, t0));
  EXPECT_FALSE(d.config_seen("homeassistant/sensor/other-node/x/config", "{}", t0));
  EXPECT_FALSE(d.config_seen("st/v1/rig/status", "{}", t0));
  EXPECT_TRUE(d.take(t0 + 30min).empty()) << "already announced";
  // Never committed since: removed after forget_after.
  EXPECT_EQ(topics_of(d.take(t0 + 61min), true), topics_of(old, false));

  // A config removed by someone else is announced again on the next commit.
  d.committed({sample("kept", t0)}, t0 + 62min);
  const auto kept = d.take(t0 + 62min);
  ASSERT_EQ(kept.size(), 3u);
  d.config_seen(kept[0].topic, "", t0 + 63min);
  d.committed({sample("kept", t0)}, t0 + 64min);
  EXPECT_EQ(topics_of(d.take(t0 + 64min), false).size(), 3u);

  // After a reconnect everything known is announced again, and what the client refused first.
  d.reconnected();
  auto again = d.take(t0 + 65min);
  EXPECT_EQ(again.size(), 3u);
  d.put_back({again.begin() + 1, again.end()});
  EXPECT_EQ(d.take(t0 + 65min).size(), 2u);
}

TEST(HomeAssistantDiscovery, ForeignConfigsUnderOurNodeAreNeitherKeptNorRepublished) {
  const TimePoint t0 = *parse_rfc3339("2026-11-25T00:00:00Z");
  Options o{"homeassistant", 1h};
  o.max_devices = 4;
  Discovery d(k_topics, o);
  const auto at = [&](const std::string& component, const std::string& object_id) {
    return "homeassistant/" + component + "/" + node_id(k_topics) + "/" + object_id + "/config";
  };
  const std::string big(1 << 20, 'x');
  // Object ids not of the form this collector makes, or under another component: consumed
  // (never classified as samples) and forgotten.
  for (const auto& topic :
       {at("sensor", "evil"), at("sensor", "ch-0123456789abcdef"), at("sensor", "ch-zz-viewers"),
        at("sensor", "ch-0123456789ABCDEF-viewers"), at("sensor", "ch-0123456789abcdef-evil"),
        at("switch", "ch-0123456789abcdef-live"), at("sensor", "agent-0123456789abcdef-connected"),
        at("binary_sensor", "agent-0123456789abcdef-live"),
        at("sensor", "ch-0123456789abcdef0-chat")}) {
    EXPECT_TRUE(d.config_seen(topic, big, t0)) << topic;
  }
  d.reconnected();
  EXPECT_TRUE(d.take(t0 + 2h).empty());

  // Of our form: its topic is remembered (to remove it later), its payload never republished.
  const auto viewers = at("sensor", "ch-0123456789abcdef-viewers");
  EXPECT_TRUE(d.config_seen(viewers, R"({"name":"not ours"})", t0 + 2h));
  d.reconnected();
  EXPECT_TRUE(d.take(t0 + 2h).empty()) << "a payload someone else published is not republished";
  EXPECT_EQ(topics_of(d.take(t0 + 4h), true), std::vector<std::string>{viewers});

  // At most max_devices are remembered from the broker; agents known only from a retained
  // config (their status is gone) expire after forget_after like channels.
  for (int i = 0; i < 10; ++i) {
    const auto m = agent_configs(k_topics, o, "rig-" + std::to_string(i))[0];
    EXPECT_TRUE(d.config_seen(m.topic, m.payload, t0 + 5h));
  }
  for (int i = 0; i < 10; ++i) {
    d.agent_status("status-only-" + std::to_string(i), R"({"state":"online"})");
  }
  EXPECT_TRUE(d.take(t0 + 5h).empty()) << "status of agents beyond the cap not announced";
  EXPECT_EQ(topics_of(d.take(t0 + 7h), true).size(), 4u);
  EXPECT_TRUE(d.take(t0 + 9h).empty());
  // With room again, a status announces its agent.
  d.agent_status("rig-x", R"({"state":"online"})");
  EXPECT_EQ(topics_of(d.take(t0 + 9h), false),
            topics_of(agent_configs(k_topics, o, "rig-x"), false));
}

TEST(LiveChatRate, ChatOverTheTimeSinceThePreviousCommittedSample) {
  const TimePoint t0 = *parse_rfc3339("2026-11-25T00:00:00Z");
  Sample s;
  s.live = true;
  s.chat_messages = 30;
  s.ts = t0 + 60s;
  EXPECT_DOUBLE_EQ(*live::chat_per_minute(s, t0), 30.0);
  EXPECT_DOUBLE_EQ(*live::chat_per_minute(s, t0 + 30s), 60.0);
  EXPECT_FALSE(live::chat_per_minute(s, std::nullopt));
  EXPECT_FALSE(live::chat_per_minute(s, t0 + 60s));    // no time between them
  EXPECT_FALSE(live::chat_per_minute(s, t0 - 10min));  // more than 10 minutes
  s.live = false;
  EXPECT_FALSE(live::chat_per_minute(s, t0));
  s.live = true;
  s.chat_messages.reset();
  EXPECT_FALSE(live::chat_per_minute(s, t0));

  // Through the publisher: the first value has no rate, the next one does (also within a batch).
  ManualClock clock(t0);
  std::vector<std::string> payloads;
  live::LivePublisher publisher(
      k_topics,
      [&](const std::string&, const std::string& p, bool) {
        payloads.push_back(p);
        return true;
      },
      clock);
  auto item = [&](TimePoint ts, std::int64_t chat) {
    auto i = sample("c", ts);
    i.sample->chat_messages = chat;
    return i;
  };
  publisher.committed({item(t0, 5)});
  publisher.committed({item(t0 + 20s, 10), item(t0 + 30s, 4)});
  ASSERT_EQ(payloads.size(), 2u);
  EXPECT_TRUE(json::parse(payloads[0])["chat_per_minute"].is_null());
  EXPECT_DOUBLE_EQ(json::parse(payloads[1])["chat_per_minute"].get<double>(), 24.0);
}

TEST(HomeAssistantConfig, OffByDefaultWithAPrefixThatMustBeATopic) {
  const std::string base = "[postgres]\ndsn = \"host=127.0.0.1\"\n";
  const auto c = parse_collector_config(base, "c.toml");
  EXPECT_FALSE(c.homeassistant_enabled);
  EXPECT_EQ(c.homeassistant_prefix, "homeassistant");
  EXPECT_EQ(c.homeassistant_forget_after, std::chrono::hours(24 * 7));
  const auto on = parse_collector_config(
      base + "[homeassistant]\nenabled = true\nprefix = \"ha\"\nforget_after = \"1h\"\n", "c.toml");
  EXPECT_TRUE(on.homeassistant_enabled);
  EXPECT_EQ(on.homeassistant_prefix, "ha");
  try {
    parse_collector_config(base + "[homeassistant]\nprefix = \"ha/#\"\n", "c.toml");
    FAIL() << "accepted a wildcard prefix";
  } catch (const config::ConfigError& e) {
    ASSERT_EQ(e.messages().size(), 1u);
    EXPECT_THAT(e.messages()[0], ::testing::StartsWith("c.toml:4:10: homeassistant: prefix: "));
  }
}

}  // namespace
}  // namespace streamtrack::collector::homeassistant
