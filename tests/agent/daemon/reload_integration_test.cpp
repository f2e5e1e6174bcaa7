// SIGHUP on the real agent: sources added in agent.d/, removed from the main file, and an
// invalid drop-in refused, while the outbox and its seqs carry on. Observed through
// sd_notify, the polled HTTP fixture and the samples on MQTT, never through the log.
#include <gtest/gtest.h>

#include <csignal>

#include "tests/agent/daemon/agent_support.hpp"
#include "tests/support/notify_receiver.hpp"

namespace streamtrack::testing {
namespace {

const std::string k_body = "{\"online\":true,\"viewers\":7}";

std::string source(const std::string& name, const std::string& url,
                   const std::string& interval = "100ms") {
  return "[[source]]\ntype = \"http_json\"\nname = \"" + name + "\"\nurl = \"" + url +
         "\"\ninterval = \"" + interval + "\"\n[source.fields]\nlive = \"/online\"\n";
}

void reload(Process& agent, const NotifyReceiver& notify) {
  const auto before = notify.size();
  agent.signal(SIGHUP);
  const auto reloading = notify.wait_for("RELOADING=1", before);
  ASSERT_TRUE(reloading.has_value()) << agent.output();
  ASSERT_TRUE(notify.wait_for("READY=1", *reloading + 1).has_value()) << agent.output();
}

TEST(AgentReload, SourcesFollowTheConfigurationAndSeqsCarryOn) {
  MosquittoServer broker;
  HttpFixtureServer http;
  for (const char* path : {"/a", "/b", "/c"}) http.route(path, json(k_body));
  AgentSetup setup;
  setup.url = broker.url();
  setup.mqtt_extra = "delivery = \"broker\"\n";
  setup.source_urls = {http.url("/a")};
  AgentRun agent(setup);
  MqttProbe probe(broker.url(), k_rig_samples);
  NotifyReceiver notify;
  Process::Options o;
  o.argv = {(bin_dir() / "streamtrack-agent").string(), "--config", agent.config().string()};
  o.env = {"NOTIFY_SOCKET=" + notify.path()};
  Process p(o);
  ASSERT_TRUE(notify.wait_for("READY=1").has_value()) << p.output();
  ASSERT_TRUE(probe.wait_for_count(3)) << p.output();

  // A configuration tool adds a source in agent.d/.
  const auto dropins = agent.config().parent_path() / "agent.d";
  std::filesystem::create_directory(dropins);
  write_file(dropins / "b.toml", source("b", http.url("/b")));
  reload(p, notify);
  ASSERT_TRUE(wait_until([&] { return http.request_count("/b") >= 3; })) << p.output();

  // The main file's source goes away; the drop-in's stays.
  agent.setup().source_urls = {};
  agent.rewrite();
  reload(p, notify);
  const auto a_after_removal = http.request_count("/a");
  const auto b_after_removal = http.request_count("/b");
  ASSERT_TRUE(wait_until([&] { return http.request_count("/b") >= b_after_removal + 5; }));
  EXPECT_LE(http.request_count("/a"), a_after_removal + 1);  // at most one poll in flight

  // An invalid drop-in is refused as a whole: "c" is never polled, "b" carries on.
  write_file(dropins / "c.toml", source("c", http.url("/c"), "fast"));
  reload(p, notify);
  const auto b_after_refusal = http.request_count("/b");
  ASSERT_TRUE(wait_until([&] { return http.request_count("/b") >= b_after_refusal + 5; }));
  EXPECT_EQ(http.request_count("/c"), 0u);
  EXPECT_TRUE(p.running());

  EXPECT_EQ(p.stop(), 0) << p.output();
  std::filesystem::remove(dropins / "c.toml");  // `outbox stats` reads the configuration too
  // Every seq from 1 to the last one reached the broker: nothing lost or reset by reloads.
  const auto last = agent.stat("last_seq");
  ASSERT_GT(last, 10);
  ASSERT_TRUE(wait_until([&] { return has_all(distinct_seqs(probe), last); }))
      << "received " << distinct_seqs(probe).size() << " of " << last;
  std::set<std::string> channels;
  for (const auto& s : received_samples(probe)) channels.insert(s.channel);
  EXPECT_EQ(channels, (std::set<std::string>{"s0", "b"}));
}

}  // namespace
}  // namespace streamtrack::testing
