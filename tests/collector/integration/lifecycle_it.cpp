// Starting without the database, and stopping with a full queue.
#include <csignal>
#include <nlohmann/json.hpp>

#include "collector/store/pg_connection.hpp"
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
  o.max_delay = "10m";  // while a batch is being written, the others wait until shutdown
  o.pool_size = 1;
  o.postgres_extra = "lock_timeout = \"0s\"";  // the first batch waits for the lock below
  o.http_listen = "127.0.0.1:" + std::to_string(port);
  auto collector = start_collector(o);
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"});
  // One sample through first: the collector's start (migrations, partitions) is over, and no
  // lock of its own can meet the test's below.
  publish(probe, make_sample("rig", 1, ts_for(1), "live/main"));
  ASSERT_TRUE(wait_until([&] { return acked_set(probe).size() == 1; })) << collector->output();
  store::ConnectOptions locker_options;
  locker_options.dsn = m_dsn;
  store::PgConnection locker(locker_options);
  locker.exec("BEGIN");
  locker.exec("LOCK TABLE livestream_metrics IN ACCESS EXCLUSIVE MODE");
  for (int seq = 2; seq <= 51; ++seq) {
    publish(probe, make_sample("rig", seq, ts_for(seq), "live/main"));
  }
  ASSERT_TRUE(wait_until([&] {
    return http_get(port, "/metrics").second.find("streamtrack_collector_pending_rows 50") !=
           std::string::npos;
  })) << http_get(port, "/metrics").second;
  EXPECT_EQ(acked_set(probe).size(), 1u);
  collector->signal(SIGTERM);
  ASSERT_TRUE(collector->wait_for_output("collector: stopping pending=50")) << collector->output();
  locker.exec("COMMIT");
  const auto code = collector->wait();
  ASSERT_TRUE(code) << collector->output();
  EXPECT_EQ(*code, 0);
  EXPECT_EQ(count("SELECT count(*) FROM livestream_metrics"), 51);
  ASSERT_TRUE(wait_until([&] { return acked_set(probe).size() == 51; }))
      << "acked " << acked_set(probe).size() << "\n"
      << collector->output();
}

}  // namespace
}  // namespace streamtrack::collector::testing
