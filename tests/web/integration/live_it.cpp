// Live updates of committed data: a sample published into the real broker is committed by the
// real collector; the database announces it (NOTIFY at commit), the web daemon fans it out as
// SSE, and the collector publishes it as a retained MQTT live value.
#include <gtest/gtest.h>

#include "tests/web/integration/web_fixture.hpp"

namespace streamtrack::web::testing {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

TimePoint now_ms() {
  return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

bool is_sample_of(const SseEvent& e, const std::string& name, std::int64_t viewers) {
  if (e.event != "sample") return false;
  const auto j = json::parse(e.data, nullptr, false);
  return j.is_object() && j["name"] == name && j["viewers"] == viewers;
}

class LiveTest : public WebTest {
 protected:
  // Publishes `s` and returns when its row is visible in PostgreSQL, i.e. committed.
  Steady::time_point publish_committed(MqttProbe& probe, const Sample& s) {
    publish(probe, s);
    const std::string sql = "SELECT count(*) FROM livestream_metrics WHERE agent_id = '" + s.agent +
                            "' AND seq = " + std::to_string(s.seq);
    EXPECT_TRUE(wait_until([&] { return pg_scalar(m_dsn, sql) == "1"; }, 60s, 5ms));
    return Steady::now();
  }

  static bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                         std::chrono::milliseconds every) {
    const auto end = Steady::now() + timeout;
    while (Steady::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(every);
    }
    return pred();
  }
};

TEST_F(LiveTest, ACommittedSampleReachesSseAndTheRetainedMqttTopicWithinTwoSeconds) {
  auto collector = start_stack_collector();
  MqttProbe probe(m_broker.url(), {"st/v1/live/#"});
  // A first sample creates the channel, so a channel stream can be opened for it.
  publish_committed(probe, sample_at("a1", 1, now_ms() - 10s, "alpha", 10));
  auto web = start_web();
  const auto id = pg_scalar(m_dsn, "SELECT id FROM channels WHERE name = 'alpha'");

  SseClient overview(m_web_port, "/api/v1/live");
  SseClient channel(m_web_port, "/api/v1/live?channel=" + id);
  ASSERT_EQ(overview.wait_status(), 200);
  ASSERT_EQ(channel.wait_status(), 200);
  // The server subscribes a client before it sends the first byte of its reply.

  const auto committed = publish_committed(probe, sample_at("a1", 2, now_ms(), "alpha", 77));
  const auto event =
      overview.wait_for([](const SseEvent& e) { return is_sample_of(e, "alpha", 77); });
  const auto sse_latency = Steady::now() - committed;
  ASSERT_TRUE(event.has_value());
  EXPECT_LE(sse_latency, 2s);
  const auto data = json::parse(event->data);
  EXPECT_EQ(data["channel_id"], std::stoll(id));
  EXPECT_EQ(data["platform"], "owncast");
  EXPECT_EQ(data["live"], true);
  EXPECT_TRUE(data["session_id"].is_number_integer());
  EXPECT_DOUBLE_EQ(data["bitrate_kbps"].get<double>(), 2502.0);
  EXPECT_EQ(data["chat"], 2);
  EXPECT_TRUE(data["t"].get<std::string>().ends_with("Z"));
  EXPECT_FALSE(event->id.empty());
  EXPECT_TRUE(channel.wait_for([](const SseEvent& e) { return is_sample_of(e, "alpha", 77); }));

  const auto mqtt = probe.wait_for("st/v1/live/owncast/alpha", "\"viewers\":77", 60s);
  const auto mqtt_latency = Steady::now() - committed;
  ASSERT_TRUE(mqtt.has_value());
  EXPECT_LE(mqtt_latency, 2s);
  const auto payload = json::parse(mqtt->payload);
  EXPECT_EQ(payload["channel"], "alpha");
  EXPECT_EQ(payload["live"], true);

  // Retained: a subscriber that arrives later still gets the last committed value.
  const auto late =
      run_command({"mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(m_broker.port()), "-t",
                   "st/v1/live/#", "-C", "1", "-W", "30", "-F", "%r %t %p"});
  EXPECT_EQ(late.exit_code, 0) << late.output;
  EXPECT_TRUE(late.output.starts_with("1 st/v1/live/owncast/alpha ")) << late.output;
  EXPECT_NE(late.output.find("\"viewers\":77"), std::string::npos) << late.output;

  // Going offline is announced too (an offline sample closes the session, it adds no row).
  publish(probe, sample_at("a1", 3, now_ms() + 1s, "alpha", 0, false));
  const auto offline = overview.wait_for([](const SseEvent& e) {
    const auto j = json::parse(e.data, nullptr, false);
    return e.event == "sample" && j.is_object() && j["live"] == false;
  });
  ASSERT_TRUE(offline.has_value());
  // Offline, a channel has no current figures: it sorts after every live one.
  const auto channel_now = get_json("/api/v1/channels/" + id);
  EXPECT_EQ(channel_now["live"], false);
  EXPECT_TRUE(channel_now["viewers"].is_null()) << channel_now.dump();
  EXPECT_TRUE(channel_now["bitrate_kbps"].is_null()) << channel_now.dump();
  // And the overview stream carries the stats when they change.
  EXPECT_TRUE(overview.wait_for([](const SseEvent& e) { return e.event == "stats"; }));
}

TEST_F(LiveTest, TheStatsEventFollowsACommitEvenWhenTheCachedStatsPredateIt) {
  auto collector = start_stack_collector();
  MqttProbe probe(m_broker.url(), {});
  auto web = start_web();
  SseClient overview(m_web_port, "/api/v1/live");
  ASSERT_EQ(overview.wait_status(), 200);
  const auto stats_with = [](std::int64_t viewers) {
    return [viewers](const SseEvent& e) {
      return e.event == "stats" && json::parse(e.data)["viewers_now"] == viewers;
    };
  };
  publish_committed(probe, sample_at("a1", 1, now_ms(), "alpha", 10));
  const auto first = overview.wait_for(stats_with(10));
  ASSERT_TRUE(first.has_value());
  // Once the window has passed, a page load computes fresh stats and caches them; a commit
  // follows within that new window.
  const auto first_at = json::parse(first->data)["generated_at"];
  ASSERT_TRUE(::streamtrack::testing::wait_until(
      [&] { return get_json("/api/v1/stats")["generated_at"] != first_at; }));
  publish_committed(probe, sample_at("a1", 2, now_ms() + 1s, "alpha", 20));
  EXPECT_TRUE(overview.wait_for(stats_with(20)));
}

TEST_F(LiveTest, AClientThatReconnectsWithLastEventIdLosesNothing) {
  auto collector = start_stack_collector();
  MqttProbe probe(m_broker.url(), {});
  auto web = start_web();
  std::string last_id;
  {
    SseClient first(m_web_port, "/api/v1/live");
    ASSERT_EQ(first.wait_status(), 200);
    publish_committed(probe, sample_at("a1", 1, now_ms(), "alpha", 1));
    const auto e = first.wait_for([](const SseEvent& ev) { return is_sample_of(ev, "alpha", 1); });
    ASSERT_TRUE(e.has_value());
    last_id = e->id;
  }  // disconnected
  for (int i = 2; i <= 6; ++i) {
    publish_committed(probe,
                      sample_at("a1", i, now_ms() + std::chrono::milliseconds(i), "alpha", i));
  }
  // The daemon has seen them all before we come back.
  ASSERT_TRUE(::streamtrack::testing::wait_until([&] {
    SseClient probe_client(m_web_port, "/api/v1/live", {{"Last-Event-ID", last_id}});
    return probe_client
        .wait_for([](const SseEvent& ev) { return is_sample_of(ev, "alpha", 6); }, 2s)
        .has_value();
  }));
  SseClient resumed(m_web_port, "/api/v1/live", {{"Last-Event-ID", last_id}});
  ASSERT_EQ(resumed.wait_status(), 200);
  ASSERT_TRUE(resumed.wait_for([](const SseEvent& ev) { return is_sample_of(ev, "alpha", 6); }));
  std::vector<std::int64_t> viewers;
  std::uint64_t previous = std::stoull(last_id);
  for (const auto& e : resumed.events()) {
    EXPECT_GT(std::stoull(e.id), previous) << "ids grow, nothing is replayed twice";
    previous = std::stoull(e.id);
    if (e.event == "sample") viewers.push_back(json::parse(e.data)["viewers"].get<std::int64_t>());
  }
  EXPECT_EQ(viewers, (std::vector<std::int64_t>{2, 3, 4, 5, 6}));

  // An id the ring no longer holds (or never held) asks the client to reload.
  SseClient stale(m_web_port, "/api/v1/live", {{"Last-Event-ID", "1"}});
  EXPECT_TRUE(stale.wait_for([](const SseEvent& e) { return e.event == "resync"; }));
}

TEST_F(LiveTest, AChannelStreamCarriesOnlyItsChannelAndKeepalivesFlow) {
  auto collector = start_stack_collector();
  MqttProbe probe(m_broker.url(), {});
  publish_committed(probe, sample_at("a1", 1, now_ms() - 5s, "alpha", 1));
  publish_committed(probe, sample_at("a1", 2, now_ms() - 5s, "beta", 1));
  auto web = start_web({"[live]\nkeepalive = \"200ms\"\n", ""});
  const auto beta = pg_scalar(m_dsn, "SELECT id FROM channels WHERE name = 'beta'");
  SseClient only_beta(m_web_port, "/api/v1/live?channel=" + beta);
  ASSERT_EQ(only_beta.wait_status(), 200);
  publish_committed(probe, sample_at("a1", 3, now_ms(), "alpha", 30));
  publish_committed(probe, sample_at("a1", 4, now_ms(), "beta", 40));
  ASSERT_TRUE(only_beta.wait_for([](const SseEvent& e) { return is_sample_of(e, "beta", 40); }));
  for (const auto& e : only_beta.events()) {
    EXPECT_NE(e.event, "stats");
    if (e.event == "sample") {
      EXPECT_EQ(json::parse(e.data)["name"], "beta");
    }
  }
  EXPECT_TRUE(::streamtrack::testing::wait_until([&] { return only_beta.comments() >= 2; }));
}

}  // namespace
}  // namespace streamtrack::web::testing
