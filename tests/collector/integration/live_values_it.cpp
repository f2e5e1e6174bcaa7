// The retained live values (docs/mqtt.md, "Live values") from the real collector, against a
// real Mosquitto and PostgreSQL: a value held back by [live] min_interval leaves when its
// interval ends (the main loop's turn) or at a clean shutdown, and a value the client could
// not send while the broker was away leaves once it is back.
#include <chrono>

#include "tests/collector/integration/collector_fixture.hpp"

namespace streamtrack::collector::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* k_topic = "st/v1/live/nginx_rtmp/main";

// The needle of a live payload for the sample taken at `ts`.
std::string taken_at(const std::string& ts) {
  return "\"t\":\"" + ts + "\"";
}

class LiveValuesIT : public CollectorTest {
 protected:
  static CollectorOptions with_interval(const std::string& interval) {
    CollectorOptions o;
    o.extra = "[live]\nmin_interval = \"" + interval + "\"\n";
    return o;
  }
};

constexpr const char* k_t1 = "2030-03-01T10:00:01.000Z";
constexpr const char* k_t2 = "2030-03-01T10:00:02.000Z";

// The second commit lands within the interval of the first value's send (5 s; a commit takes
// milliseconds), so the value is held and only the main loop's flush can send it: no commit
// follows.
TEST_F(LiveValuesIT, AHeldValueLeavesWhenItsIntervalEndsWithoutAnotherCommit) {
  auto collector = start_collector(with_interval("5s"));
  MqttProbe probe(m_broker.url(), {"st/v1/live/#"});
  publish(probe, make_sample("rig", 1, k_t1, "main"));
  ASSERT_TRUE(probe.wait_for(k_topic, taken_at(k_t1))) << collector->output();
  const auto first_seen = std::chrono::steady_clock::now();
  publish(probe, make_sample("rig", 2, k_t2, "main"));
  ASSERT_TRUE(probe.wait_for(k_topic, taken_at(k_t2))) << collector->output();
  // At most one value per interval (the arrival of the first may have lagged its send).
  EXPECT_GE(std::chrono::steady_clock::now() - first_seen, 3s);
  EXPECT_EQ(collector->stop(), 0);
}

// With a long interval, the held value leaves only at the clean shutdown: the retained value
// the broker keeps is the newest committed one.
TEST_F(LiveValuesIT, AShutdownSendsTheHeldValue) {
  auto collector = start_collector(with_interval("1h"));
  MqttProbe probe(m_broker.url(), {"st/v1/live/#"});
  publish(probe, make_sample("rig", 1, k_t1, "main"));
  ASSERT_TRUE(probe.wait_for(k_topic, taken_at(k_t1))) << collector->output();
  publish(probe, make_sample("rig", 2, k_t2, "main"));
  expect_count("SELECT count(*) FROM livestream_metrics", 2);
  EXPECT_EQ(collector->stop(), 0);

  MqttProbe late(m_broker.url(), {"st/v1/live/#"});
  const auto retained = late.wait_for(k_topic);
  ASSERT_TRUE(retained);
  EXPECT_TRUE(retained->retained);
  EXPECT_NE(retained->payload.find(taken_at(k_t2)), std::string::npos) << retained->payload;
}

// A commit while the broker is away: the client refuses the value, which waits and leaves
// after the reconnect (the broker restarted without persistence, so it has no retained value
// of the channel at all until then).
TEST_F(LiveValuesIT, AValueCommittedWhileTheBrokerIsAwayLeavesAfterTheReconnect) {
  auto collector = start_collector();
  MqttProbe probe(m_broker.url(), {"st/v1/live/#"});
  publish(probe, make_sample("rig", 1, k_t1, "main"));
  ASSERT_TRUE(probe.wait_for(k_topic, taken_at(k_t1))) << collector->output();

  // The sample arrives but cannot commit until PostgreSQL is back, after the broker left.
  m_pg.stop();
  publish(probe, make_sample("rig", 2, k_t2, "main"));
  ASSERT_TRUE(collector->wait_for_output("ingest: batch not written, retrying"));
  m_broker.stop();
  ASSERT_TRUE(collector->wait_for_output("mqtt: disconnected"));
  m_pg.start();
  expect_count("SELECT count(*) FROM livestream_metrics", 2);

  m_broker.start();
  ASSERT_TRUE(probe.wait_connected());
  EXPECT_TRUE(probe.wait_for(k_topic, taken_at(k_t2))) << collector->output();
  EXPECT_EQ(collector->stop(), 0);
}

}  // namespace
}  // namespace streamtrack::collector::testing
