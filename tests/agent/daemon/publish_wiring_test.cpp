// Which publisher options the daemon derives from agent.toml: frames only where the collector's
// ack proves each sample committed.

#include "agent/daemon/publish_wiring.hpp"

#include <gtest/gtest.h>

namespace streamtrack::testing {
namespace {

agent::AgentConfig config_with(agent::Delivery delivery, int protocol_version) {
  agent::AgentConfig c;
  c.id = "rig-1";
  c.delivery = delivery;
  c.mqtt.protocol_version = protocol_version;
  c.mqtt.topic_prefix = "streamtrack/v1";
  c.max_frame_samples = 500;
  c.max_frame_bytes = 100'000;
  return c;
}

TEST(PublisherOptions, BrokerDeliveryUnderMqtt311SendsNoFramesAsAnAclRefusalWouldBeSilent) {
  const auto o = agent::publisher_options(config_with(agent::Delivery::broker, 4));
  EXPECT_EQ(o.max_frame_samples, 0u);
}

// MQTT 5 reports an ACL refusal, but not a frame that no collector reads (a collector's ACL
// without <root>/+/frames, an older collector): its PUBACK would still release the samples.
TEST(PublisherOptions,
     BrokerDeliveryUnderMqtt5SendsNoFramesAsAPubackDoesNotMeanACollectorReadsThem) {
  const auto o = agent::publisher_options(config_with(agent::Delivery::broker, 5));
  EXPECT_EQ(o.max_frame_samples, 0u);
}

TEST(PublisherOptions, CommittedDeliverySendsFramesWhateverTheProtocol) {
  EXPECT_EQ(agent::publisher_options(config_with(agent::Delivery::committed, 4)).max_frame_samples,
            500u);
  EXPECT_EQ(agent::publisher_options(config_with(agent::Delivery::committed, 5)).max_frame_samples,
            500u);
  EXPECT_EQ(agent::publisher_options(config_with(agent::Delivery::committed, 4)).max_frame_bytes,
            100'000u);
  EXPECT_EQ(agent::publisher_options(config_with(agent::Delivery::committed, 4)).frame_topic,
            "streamtrack/v1/rig-1/frames");
}

// Its outbox sends again whatever Paho's session held, so a clean session costs the agent
// nothing but acks (the samples are published again after ack_timeout).
TEST(AgentClientOptions, APersistentSessionThatStartsCleanAfterQuickDrops) {
  const auto config = config_with(agent::Delivery::committed, 5);
  const auto o = agent::client_options(config, wire::Topics(config.mqtt.topic_prefix));
  EXPECT_FALSE(o.clean_session);
  EXPECT_TRUE(o.clean_start_after_quick_drops);
}

}  // namespace
}  // namespace streamtrack::testing
