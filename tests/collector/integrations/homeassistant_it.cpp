// Home Assistant discovery end to end: the real collector against a real Mosquitto announces a
// channel once its sample committed and an agent from its retained status, and removes both
// (empty retained configs) when the channel falls silent or the agent's status is cleared; a
// restarted collector takes over the retained configs of an earlier run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "collector/homeassistant/discovery.hpp"
#include "tests/collector/integration/collector_fixture.hpp"

namespace streamtrack::collector::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class HomeAssistantIT : public CollectorTest {
 protected:
  CollectorOptions with_discovery(const std::string& forget_after) {
    CollectorOptions o;
    o.extra = "[homeassistant]\nenabled = true\nforget_after = \"" + forget_after + "\"\n";
    return o;
  }
  // Waits until the probe saw `topic` with exactly `payload` (empty: a removal).
  bool wait_for_payload(const MqttProbe& probe, const std::string& topic,
                        const std::string& payload) {
    return wait_until([&] {
      for (const auto& m : probe.messages()) {
        if (m.topic == topic && m.payload == payload) return true;
      }
      return false;
    });
  }
  const homeassistant::Options m_ha{};
};

TEST_F(HomeAssistantIT, AnnouncesCommittedChannelsAndAgentsAndRemovesThem) {
  auto collector = start_collector(with_discovery("3s"));
  MqttProbe probe(m_broker.url(), {"homeassistant/#", "st/v1/live/#"});
  ASSERT_TRUE(probe.wait_connected());
  probe.publish(k_topics.status("rig"), R"({"state":"online","version":"0.1.0"})", true);
  publish(probe, make_sample("rig", 1, "2030-01-01T00:00:00Z", "live/main"));
  publish(probe, make_sample("rig", 2, "2030-01-01T00:01:00Z", "live/main"));

  const auto channel = homeassistant::channel_configs(k_topics, m_ha, "nginx_rtmp", "live/main");
  const auto agent = homeassistant::agent_configs(k_topics, m_ha, "rig");
  for (const auto& expected : channel) {
    const auto got = probe.wait_for(expected.topic);
    ASSERT_TRUE(got) << expected.topic << "\n" << collector->output();
    EXPECT_EQ(json::parse(got->payload), json::parse(expected.payload));
    EXPECT_EQ(json::parse(got->payload)["state_topic"], "st/v1/live/nginx_rtmp/live%2Fmain");
  }
  const auto agent_config = probe.wait_for(agent[0].topic);
  ASSERT_TRUE(agent_config) << collector->output();
  EXPECT_EQ(json::parse(agent_config->payload)["state_topic"], "st/v1/rig/status");

  // The state the entities read: the committed live value, with its chat rate.
  const auto live = probe.wait_for("st/v1/live/nginx_rtmp/live%2Fmain", "\"chat_per_minute\":");
  ASSERT_TRUE(live);
  EXPECT_THAT(live->payload, HasSubstr("\"viewers\":"));

  // The channel falls silent for forget_after: removed from Home Assistant.
  for (const auto& expected : channel) {
    EXPECT_TRUE(wait_for_payload(probe, expected.topic, "")) << expected.topic;
  }
  // The agent's status is cleared (an operator retiring it): removed too.
  probe.publish(k_topics.status("rig"), "", true);
  EXPECT_TRUE(wait_for_payload(probe, agent[0].topic, "")) << collector->output();

  // Nothing of it stays retained at the broker.
  EXPECT_EQ(collector->stop(), 0);
  // A round trip through the broker after subscribing: retained messages come before it.
  MqttProbe late(m_broker.url(), {"homeassistant/#", "st/v1/marker"});
  ASSERT_TRUE(late.wait_connected());
  ASSERT_TRUE(wait_until([&] {
    probe.publish("st/v1/marker", "x");
    return late.wait_for("st/v1/marker", "", std::chrono::milliseconds(500)).has_value();
  }));
  for (const auto& m : late.messages()) {
    EXPECT_THAT(m.topic, ::testing::Not(::testing::StartsWith("homeassistant/"))) << m.payload;
  }
}

TEST_F(HomeAssistantIT, ARestartedCollectorRemovesWhatAnEarlierRunAnnounced) {
  auto first = start_collector(with_discovery("1h"));
  MqttProbe probe(m_broker.url(), {"homeassistant/#"});
  ASSERT_TRUE(probe.wait_connected());
  publish(probe, make_sample("rig", 1, "2030-01-01T00:00:00Z", "old/channel"));
  const auto channel = homeassistant::channel_configs(k_topics, m_ha, "nginx_rtmp", "old/channel");
  for (const auto& expected : channel)
    ASSERT_TRUE(probe.wait_for(expected.topic)) << first->output();
  EXPECT_EQ(first->stop(), 0);

  // The next run never sees that channel again: it learns the retained configs and removes
  // them after its own forget_after.
  auto second = start_collector(with_discovery("2s"));
  for (const auto& expected : channel) {
    EXPECT_TRUE(wait_for_payload(probe, expected.topic, "")) << second->output();
  }
  EXPECT_EQ(second->stop(), 0);
}

TEST_F(HomeAssistantIT, OffByDefault) {
  auto collector = start_collector();
  MqttProbe probe(m_broker.url(), {"homeassistant/#", "st/v1/live/#"});
  ASSERT_TRUE(probe.wait_connected());
  publish(probe, make_sample("rig", 1, "2030-01-01T00:00:00Z", "live/main"));
  ASSERT_TRUE(probe.wait_for("st/v1/live/nginx_rtmp/live%2Fmain"));
  // The live value came after its commit; a config would have been queued with it.
  publish(probe, make_sample("rig", 2, "2030-01-01T00:00:10Z", "live/main"));
  ASSERT_TRUE(probe.wait_for("st/v1/live/nginx_rtmp/live%2Fmain", "\"chat_per_minute\":"));
  for (const auto& m : probe.messages())
    EXPECT_THAT(m.topic, ::testing::Not(::testing::StartsWith("homeassistant/")));
  EXPECT_EQ(collector->stop(), 0);
}

}  // namespace
}  // namespace streamtrack::collector::testing
