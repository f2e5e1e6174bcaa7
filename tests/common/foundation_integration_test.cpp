// The foundation end to end: a sample encoded by the common codec goes through our MQTT
// client and a real Mosquitto, is decoded on the other side and stored in and read back from
// a real PostgreSQL, all started by the harness.
#include <gtest/gtest.h>

#include <atomic>

#include "common/mqtt/client.hpp"
#include "common/wire/codec.hpp"
#include "common/wire/topics.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack {
namespace {

using namespace std::chrono;
using testing::k_event_timeout;

config::MqttSettings settings_for(const testing::MosquittoServer& broker) {
  config::MqttSettings s;
  s.url = broker.url();
  s.host = "127.0.0.1";
  s.port = broker.port();
  s.topic_prefix = "streamtrack/v1";
  s.reconnect_min = 50ms;
  s.reconnect_max = 500ms;
  return s;
}

TEST(Foundation, SamplePublishedThroughMosquittoLandsInPostgres) {
  testing::MosquittoServer broker;
  testing::PostgresServer pg;
  const auto dsn = pg.create_database("foundation");
  testing::pg_query(dsn,
                    "CREATE TABLE samples (agent text, seq bigint, ts timestamptz, "
                    "channel text, live boolean, viewers integer, PRIMARY KEY (agent, seq))");

  const wire::Topics topics;
  testing::MqttProbe probe(broker.url(), {topics.all_metrics_filter()});

  std::atomic<bool> connected{false};
  std::atomic<int> acked{0};
  mqtt::Client client({.settings = settings_for(broker), .client_id = "foundation-agent"},
                      {.connected = [&] { connected = true; },
                       .delivered =
                           [&](std::uint64_t, bool ok, const std::string&) {
                             if (ok) ++acked;
                           }});
  client.start();
  ASSERT_TRUE(testing::wait_until([&] { return connected.load(); }));

  Sample s;
  s.agent = "rig/1";  // needs escaping in the topic
  s.seq = 7;
  s.ts = floor<milliseconds>(sys_days{2026y / November / 25} + 1h + 2min + 3s + 4ms);
  s.platform = "nginx_rtmp";
  s.channel = "live/main";
  s.live = true;
  s.viewers = 2;
  const auto topic = topics.metrics(s.agent, s.platform, s.channel);
  ASSERT_TRUE(client.publish({.topic = topic, .payload = wire::encode_sample(s)}).has_value());
  ASSERT_TRUE(testing::wait_until([&] { return acked.load() == 1; }));

  const auto received = probe.wait_for(topic);
  ASSERT_TRUE(received.has_value());
  const auto parsed_topic = topics.parse(received->topic);
  ASSERT_TRUE(parsed_topic.has_value());
  EXPECT_EQ(parsed_topic->agent, "rig/1");
  EXPECT_EQ(parsed_topic->channel, "live/main");
  const auto decoded = wire::decode_sample(received->payload);
  ASSERT_TRUE(decoded.ok()) << decoded.error();
  EXPECT_EQ(*decoded, s);

  testing::pg_query(
      dsn, "INSERT INTO samples VALUES ('" + decoded->agent + "', " + std::to_string(decoded->seq) +
               ", '" + format_rfc3339(decoded->ts) + "', '" + decoded->channel + "', " +
               (decoded->live ? "true" : "false") + ", " + std::to_string(*decoded->viewers) + ")");
  const auto rows = testing::pg_query(
      dsn,
      "SELECT agent, seq, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
      "channel, live, viewers FROM samples");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"rig/1", "7", "2026-11-25T01:02:03.004Z",
                                               "live/main", "t", "2"}));
  client.stop(5s);
}

TEST(Foundation, ClientReconnectsAfterBrokerRestartAndResubscribes) {
  testing::MosquittoServer broker;
  std::atomic<int> connects{0};
  std::atomic<int> received{0};
  const std::string filter = "streamtrack/v1/+/ack";
  mqtt::Client client(
      {.settings = settings_for(broker), .client_id = "foundation-sub", .subscriptions = {filter}},
      {.connected = [&] { ++connects; }, .message = [&](mqtt::Message) { ++received; }});
  client.start();
  ASSERT_TRUE(testing::wait_until([&] { return connects.load() == 1; }));
  broker.stop();
  ASSERT_TRUE(testing::wait_until([&] { return !client.connected(); }));
  broker.start();
  ASSERT_TRUE(testing::wait_until([&] { return connects.load() == 2; }));
  // The broker lost its session (no persistence): only a resubscription delivers this.
  testing::MqttProbe publisher(broker.url(), {});
  ASSERT_TRUE(testing::wait_until(
      [&] {
        publisher.publish("streamtrack/v1/rig/ack", R"({"ranges":[[1,1]]})");
        return received.load() > 0;
      },
      k_event_timeout));
  client.stop(5s);
}

}  // namespace
}  // namespace streamtrack
