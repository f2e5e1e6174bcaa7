// The live topics <root>/live/<platform>/<channel> share their first level with agent ids:
// an agent called "live" would publish into the same subtree, so its id is refused.
#include <gtest/gtest.h>

#include "agent/config/agent_config.hpp"
#include "collector/live/live_publisher.hpp"

namespace streamtrack {
namespace {

TEST(ReservedTopics, AnAgentCannotBeCalledLive) {
  const std::string text =
      "[agent]\nid = \"live\"\nstate_dir = \"/tmp/st\"\n[[source]]\ntype = \"nginx_rtmp\"\n"
      "name = \"rtmp\"\nurl = \"http://127.0.0.1:8080/stat\"\ninterval = \"10s\"\n";
  try {
    agent::parse_agent_config(text, "agent.toml");
    FAIL() << "agent id \"live\" was accepted";
  } catch (const config::ConfigError& e) {
    ASSERT_EQ(e.messages().size(), 1u);
    EXPECT_EQ(e.messages()[0],
              "agent.toml:2:6: agent: id: \"live\" is reserved (it is the collector's live "
              "values topic)");
  }
}

TEST(ReservedTopics, LiveTopicsAreNeverParsedAsAgentTopics) {
  const wire::Topics topics("st/v1");
  for (const std::string platform : {"twitch", "metrics", "status"}) {
    const auto topic = collector::live::live_topic(topics, platform, "chan");
    const auto parsed = topics.parse(topic);
    EXPECT_FALSE(parsed.has_value() && parsed->kind != wire::TopicKind::alert) << topic;
  }
}

}  // namespace
}  // namespace streamtrack
