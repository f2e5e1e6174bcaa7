// Self-tests of the fault suite's harness pieces: NetNamespace, TmpfsMount, a persistent and
// killable broker, PostgreSQL's immediate stop.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/harness.hpp"

namespace streamtrack::testing {
namespace {

bool namespace_exists(const std::string& name) {
  return run_command({"ip", "netns", "list"}).output.find(name) != std::string::npos;
}

CommandResult publish_from(const NetNamespace& ns, const MosquittoServer& broker) {
  auto argv = ns.command_prefix();
  argv.insert(argv.end(),
              {"mosquitto_pub", "-h", ns.host_address(), "-p", std::to_string(broker.port()), "-q",
               "1", "-t", "harness/ns", "-m", "from inside"});
  return run_command(argv);
}

TEST(FaultsHarness, ANamespaceReachesTheBrokerOnItsOwnAddressAndIsRemovedAfterwards) {
  std::string name;
  {
    NetNamespace ns;
    name = ns.name();
    EXPECT_TRUE(namespace_exists(name));
    EXPECT_EQ(ns.host_address().rfind("169.254.", 0), 0u);
    MosquittoServer::Options o;
    o.extra_addresses = {ns.host_address()};
    MosquittoServer broker(o);
    MqttProbe probe(broker.url(), {"harness/#"});
    const auto first = publish_from(ns, broker);
    ASSERT_EQ(first.exit_code, 0) << first.output;
    ASSERT_TRUE(probe.wait_for("harness/ns", "from inside"));
    ns.link_down();
    ns.link_up();
    probe.clear();
    // Retried: right after link up the kernel may still be bringing the address back.
    ASSERT_TRUE(wait_until([&] { return publish_from(ns, broker).exit_code == 0; }));
    ASSERT_TRUE(probe.wait_for("harness/ns", "from inside"));
  }
  EXPECT_FALSE(namespace_exists(name));
}

TEST(FaultsHarness, ATmpfsFillsUpAndIsFreedAgain) {
  TmpfsMount fs(1 << 20);
  EXPECT_GT(fs.available(), 512u * 1024);
  fs.fill();
  EXPECT_LT(fs.available(), 8192u);
  {
    std::ofstream out(fs.path() / "more", std::ios::binary);
    const std::string block(65536, 'x');
    out << block << std::flush;
    EXPECT_FALSE(out.good()) << "a write on a full tmpfs succeeded";
  }
  fs.release();
  EXPECT_GT(fs.available(), 512u * 1024);
}

TEST(FaultsHarness, APersistentBrokerComesBackOnItsPortAfterAKill) {
  MosquittoServer::Options o;
  o.persistence = true;
  MosquittoServer broker(o);
  broker.kill();
  EXPECT_FALSE(broker.running());
  broker.start();
  EXPECT_TRUE(broker.running());
  EXPECT_TRUE(port_accepts(broker.port()));
}

TEST(FaultsHarness, PostgresComesBackAfterAnImmediateStopWithDurableCommits) {
  PostgresServer::Options o;
  o.durable_commits = true;
  PostgresServer pg(o);
  EXPECT_EQ(pg_scalar(pg.dsn(), "SHOW synchronous_commit"), "on");
  pg_query(pg.dsn(), "CREATE TABLE t (v int); INSERT INTO t VALUES (1)");
  pg.stop_immediate();
  EXPECT_FALSE(pg.running());
  pg.start();
  EXPECT_EQ(pg_scalar(pg.dsn(), "SELECT count(*) FROM t"), "1");
}

}  // namespace
}  // namespace streamtrack::testing
