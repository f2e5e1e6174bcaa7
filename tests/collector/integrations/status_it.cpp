// The collector's own retained status with a Last Will, against a real Mosquitto: online on
// connect, the Will when it is killed, offline with a reason on a clean stop.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "common/version.hpp"
#include "tests/collector/integration/collector_fixture.hpp"

namespace streamtrack::collector::testing {
namespace {

// MQTT filter matching (+ one level, # the rest, including the parent level).
bool matches(const std::string& filter, const std::string& topic) {
  std::size_t f = 0;
  std::size_t t = 0;
  while (true) {
    const auto f_end = std::min(filter.find('/', f), filter.size());
    const auto t_end = std::min(topic.find('/', t), topic.size());
    const auto level = filter.substr(f, f_end - f);
    if (level == "#") return true;
    if (t > topic.size()) return false;
    if (level != "+" && level != topic.substr(t, t_end - t)) return false;
    if (f_end == filter.size() || t_end == topic.size()) {
      if (f_end == filter.size() && t_end == topic.size()) return true;
      return f_end < filter.size() && filter.substr(f_end + 1) == "#";
    }
    f = f_end + 1;
    t = t_end + 1;
  }
}

TEST(CollectorStatusTopic, NoCollectorSubscriptionMatchesItWhateverTheId) {
  ASSERT_TRUE(matches("st/v1/+/metrics/#", "st/v1/a/metrics"));  // the matcher itself
  ASSERT_TRUE(matches("st/v1/+/status", "st/v1/a/status"));
  for (const std::string id :
       {"c1", "metrics", "status", "health", "ack", "alerts", "live", "a/b", "+", "#", ""}) {
    const auto topic = k_topics.collector_status(id);
    EXPECT_EQ(topic.rfind("st/v1/collectors/status/", 0), 0u) << topic;
    for (const auto& filter : {k_topics.all_metrics_filter(), k_topics.all_status_filter(),
                               k_topics.all_health_filter()}) {
      EXPECT_FALSE(matches(filter, topic)) << filter << " matches " << topic;
    }
    EXPECT_FALSE(k_topics.parse(topic).has_value()) << topic;
  }
}

class CollectorStatusIT : public CollectorTest {};

TEST_F(CollectorStatusIT, RetainedOnlineThenTheLastWillWhenKilled) {
  auto collector = start_collector();
  const auto topic = k_topics.collector_status("c1");
  {
    MqttProbe probe(m_broker.url(), {topic});
    ASSERT_TRUE(probe.wait_for(topic, "\"state\":\"online\"")) << collector->output();
  }
  {
    // Retained: a subscriber arriving later gets it from the broker.
    MqttProbe probe(m_broker.url(), {topic});
    const auto online = probe.wait_for(topic, "\"state\":\"online\"");
    ASSERT_TRUE(online) << collector->output();
    EXPECT_TRUE(online->retained);
    const auto body = nlohmann::json::parse(online->payload);
    EXPECT_EQ(body["version"], std::string(k_version));
    EXPECT_TRUE(body.contains("started_at"));
  }
  collector->signal(SIGKILL);
  collector->wait();
  // A subscriber arriving afterwards gets the Will the broker published, retained.
  MqttProbe late(m_broker.url(), {topic});
  const auto will = late.wait_for(topic, "offline");
  ASSERT_TRUE(will) << m_broker.log();
  EXPECT_EQ(will->payload, "{\"state\":\"offline\"}");
  EXPECT_TRUE(will->retained);
}

TEST_F(CollectorStatusIT, CleanStopLeavesOfflineWithItsReason) {
  auto collector = start_collector();
  const auto topic = k_topics.collector_status("c1");
  MqttProbe probe(m_broker.url(), {topic});
  ASSERT_TRUE(probe.wait_for(topic, "\"state\":\"online\"")) << collector->output();
  EXPECT_EQ(collector->stop(), 0) << collector->output();
  MqttProbe late(m_broker.url(), {topic});
  const auto last = late.wait_for(topic, "offline");
  ASSERT_TRUE(last);
  EXPECT_THAT(last->payload, ::testing::HasSubstr("\"reason\":\"shutdown\""));
  EXPECT_TRUE(last->retained);
  // Reconnecting replaces it with a new birth.
  auto again = start_collector();
  EXPECT_TRUE(late.wait_for(topic, "\"state\":\"online\"")) << again->output();
}

}  // namespace
}  // namespace streamtrack::collector::testing
