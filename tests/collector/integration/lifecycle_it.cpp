// Starting without the database, and stopping with a full queue.
#include <csignal>
#include <nlohmann/json.hpp>

#include "tests/collector/integration/collector_fixture.hpp"
#include "tests/support/alertmanager.hpp"

namespace streamtrack::collector::testing {
namespace {

class LifecycleIT : public CollectorTest {
 protected:
  std::string ts_for(int i) {
    return format_rfc3339(*parse_rfc3339("2030-03-01T10:00:00Z") + std::chrono::seconds{i});
  }
  std::set<std::int64_t> acked_set(const MqttProbe& probe) {
    const auto a = acked(probe, "rig");
    return {a.begin(), a.end()};
  }
  // Waits for /readyz to answer `status`; returns its JSON body.
  nlohmann::json readyz(std::uint16_t port, int status) {
    nlohmann::json body;
    const bool ok = wait_until([&] {
      const auto [code, text] = http_get(port, "/readyz");
      body = nlohmann::json::parse(text, nullptr, false);
      return code == status && !body.is_discarded();
    });
    EXPECT_TRUE(ok) << "/readyz never answered " << status << ": " << body.dump();
    return body;
  }
};

TEST_F(LifecycleIT, StartingWithoutTheDatabaseIsReadyNamesTheDatabaseAndKeepsTrying) {
  m_pg.stop();
  const auto port = free_port();
  CollectorOptions o;
  o.http_listen = "127.0.0.1:" + std::to_string(port);
  // Ready (for systemd) and subscribed although PostgreSQL is down; readiness names it.
  auto collector = start_collector(o);
  ASSERT_TRUE(collector->wait_for_output("collector: ready")) << collector->output();
  const auto down = readyz(port, 503);
  EXPECT_EQ(down["checks"]["database"]["ok"], false) << down.dump();
  EXPECT_EQ(down["checks"]["broker"]["ok"], true) << down.dump();

  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"});
  for (int seq = 1; seq <= 5; ++seq) {
    publish(probe, make_sample("rig", seq, ts_for(seq), "live/main"));
  }
  // Longer than any start timeout would allow: several failed connection rounds.
  ASSERT_TRUE(wait_until([&] {
    const auto out = collector->output();
    std::size_t n = 0;
    for (auto pos = out.find("cannot connect"); pos != std::string::npos;
         pos = out.find("cannot connect", pos + 1)) {
      ++n;
    }
    return n >= 3;
  })) << collector->output();
  EXPECT_TRUE(collector->running());
  EXPECT_TRUE(acked_set(probe).empty());

  m_pg.start();
  expect_count("SELECT count(*) FROM livestream_metrics", 5);
  ASSERT_TRUE(wait_until([&] { return acked_set(probe).size() == 5; }));
  const auto up = readyz(port, 200);
  EXPECT_EQ(up["checks"]["database"]["ok"], true) << up.dump();
  EXPECT_EQ(collector->stop(), 0);
}

TEST_F(LifecycleIT, SigtermWritesWhatIsQueuedAndAcksItBeforeDisconnecting) {
  const auto port = free_port();
  CollectorOptions o;
  o.max_delay = "10m";  // nothing is written until shutdown
  o.pool_size = 1;
  o.http_listen = "127.0.0.1:" + std::to_string(port);
  auto collector = start_collector(o);
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"});
  for (int seq = 1; seq <= 50; ++seq) {
    publish(probe, make_sample("rig", seq, ts_for(seq), "live/main"));
  }
  ASSERT_TRUE(wait_until([&] {
    return http_get(port, "/metrics").second.find("streamtrack_collector_pending_rows 50") !=
           std::string::npos;
  })) << http_get(port, "/metrics").second;
  EXPECT_EQ(count("SELECT count(*) FROM livestream_metrics"), 0);
  EXPECT_EQ(collector->stop(), 0);
  EXPECT_EQ(count("SELECT count(*) FROM livestream_metrics"), 50);
  ASSERT_TRUE(wait_until([&] { return acked_set(probe).size() == 50; }))
      << "acked " << acked_set(probe).size() << "\n"
      << collector->output();
}

}  // namespace
}  // namespace streamtrack::collector::testing
