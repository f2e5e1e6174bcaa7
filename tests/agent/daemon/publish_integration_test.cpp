// The real agent against a real Mosquitto: outages, kills, full outbox, status, TLS.

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <thread>

#include "tests/agent/daemon/agent_support.hpp"
#include "tests/agent/daemon/tcp_gate.hpp"

namespace streamtrack::testing {
namespace {

const std::string k_body = "{\"online\":true,\"viewers\":7}";

TEST(AgentPublish, BrokerOutageLosesNothingAndDuplicatesNothingUnderBrokerDelivery) {
  MosquittoServer broker;
  TcpGate gate(broker.port());
  HttpFixtureServer http;
  http.route("/a", json(k_body));
  http.route("/b", json(k_body));
  AgentSetup setup;
  setup.url = gate.url();
  setup.mqtt_extra = "delivery = \"broker\"\nmax_inflight = 8\n";
  setup.source_urls = {http.url("/a"), http.url("/b")};
  AgentRun agent(setup);
  MqttProbe probe(broker.url(), k_rig_samples);
  auto& p = agent.start();
  ASSERT_TRUE(probe.wait_for_count(10)) << p.output();

  gate.close();
  broker.stop();
  // Every seq the agent gave out before it saw the cut is at most this (stats read beside the
  // running agent, after it logged the disconnect: polls go on, so this is an upper bound).
  ASSERT_TRUE(p.wait_for_output("mqtt: disconnected")) << p.output();
  const auto taken_before_cut = agent.stat("last_seq");
  const auto polls = http.request_count("/a");
  ASSERT_TRUE(wait_until([&] { return http.request_count("/a") >= polls + 20; })) << p.output();
  broker.start();
  ASSERT_TRUE(probe.wait_connected());
  // Seqs up to this were stored before the reconnect: backlog for certain.
  const auto stored_before_reconnect = agent.stat("last_seq");
  gate.open();  // the agent comes back only once the subscriber is there again
  ASSERT_TRUE(wait_until([&] {
    const auto out = p.output();
    const auto first = out.find("mqtt: connected server=");
    return first != std::string::npos &&
           out.find("mqtt: connected server=", first + 1) != std::string::npos;
  })) << p.output();
  // Seqs above this were stored after the reconnect: live for certain.
  const auto stored_at_reconnect = agent.stat("last_seq");
  const auto polls_after = http.request_count("/a");
  ASSERT_TRUE(wait_until([&] { return http.request_count("/a") >= polls_after + 5; }));
  EXPECT_EQ(p.stop(), 0) << p.output();

  const auto last = agent.stat("last_seq");
  ASSERT_GT(last, 40);
  EXPECT_EQ(agent.stat("depth"), 0) << agent.outbox("stats").output;
  ASSERT_TRUE(wait_until([&] { return has_all(distinct_seqs(probe), last); }))
      << "received " << distinct_seqs(probe).size() << " of " << last;
  // QoS 1 is at least once: a sample in flight when the connection broke may have reached the
  // broker without its PUBACK coming back, and is sent again. Only those may arrive twice
  // (at most the window, max_inflight = 8); none of the samples taken during the outage.
  const auto samples = received_samples(probe);
  std::map<std::int64_t, int> copies;
  for (const auto& s : samples) ++copies[s.seq];
  std::int64_t duplicates = 0;
  for (const auto& [seq, n] : copies) {
    if (n == 1) continue;
    duplicates += n - 1;
    EXPECT_LE(seq, taken_before_cut)
        << "seq " << seq << " taken during the outage arrived " << n << " times";
  }
  EXPECT_LE(duplicates, 8);

  // Per channel, the backlog (stored before the reconnect) and the live samples each arrive in
  // seq order. The few seqs stored while the agent reconnected may be either: left out.
  std::map<std::string, std::int64_t> last_backlog, last_live;
  std::set<std::int64_t> seen;
  for (const auto& s : samples) {
    if (!seen.insert(s.seq).second) continue;  // order of first arrivals
    if (s.seq > stored_before_reconnect && s.seq <= stored_at_reconnect) continue;
    auto& prev = s.seq <= stored_before_reconnect ? last_backlog[s.channel] : last_live[s.channel];
    EXPECT_GT(s.seq, prev) << "channel " << s.channel << " out of order";
    prev = s.seq;
  }
}

TEST(AgentPublish, KilledAtRandomPointsAndRestartedEverySeqArrivesResendsBoundedByTheWindow) {
  MosquittoServer broker;
  HttpFixtureServer http;
  AgentSetup setup;
  setup.url = broker.url();
  setup.mqtt_extra = "delivery = \"broker\"\nmax_inflight = 16\n";
  for (int i = 0; i < 4; ++i) {
    const std::string path = "/s" + std::to_string(i);
    http.route(path, json(k_body));
    setup.source_urls.push_back(http.url(path));
  }
  setup.interval = "100ms";
  AgentRun agent(setup);
  MqttProbe probe(broker.url(), k_rig_samples);
  std::mt19937 rng(std::random_device{}());
  const auto highest_seq = [&] {
    const auto seqs = distinct_seqs(probe);
    return seqs.empty() ? std::int64_t{0} : *seqs.rbegin();
  };
  // Distinct seqs above `floor` received so far: what runs after `floor` published.
  const auto published_above = [&](std::int64_t floor) {
    const auto seqs = distinct_seqs(probe);
    return std::distance(seqs.upper_bound(floor), seqs.end());
  };
  const int kills = 5;
  // After a kill, the outbox recorded seqs up to last_seq and reserved up to seq_reserved; the
  // next run continues above the reservation, so the seqs in between are never given out.
  std::vector<std::pair<std::int64_t, std::int64_t>> skipped;
  for (int i = 0; i < kills; ++i) {
    auto& p = agent.start();
    // This run must itself take and publish samples (a seq above every earlier one), not
    // just resend what earlier runs left behind.
    const auto before = highest_seq();
    ASSERT_TRUE(wait_until([&] { return published_above(before) >= 10; })) << p.output();
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution(0, 300)(rng)));
    p.signal(SIGKILL);
    ASSERT_TRUE(p.wait());
    skipped.emplace_back(agent.stat("last_seq"), agent.stat("seq_reserved"));
  }
  auto& p = agent.start();
  const auto before = highest_seq();
  ASSERT_TRUE(wait_until([&] { return published_above(before) >= 10; })) << p.output();
  EXPECT_EQ(p.stop(), 0) << p.output();
  const auto last = agent.stat("last_seq");
  ASSERT_GE(last, highest_seq());
  EXPECT_EQ(agent.stat("depth"), 0);
  // The seqs skipped after each kill were never given to a sample.
  std::set<std::int64_t> expected;
  for (std::int64_t s = 1; s <= last; ++s) expected.insert(s);
  for (const auto& [recorded, reserved] : skipped) {
    for (auto s = recorded + 1; s <= reserved; ++s) expected.erase(s);
  }
  ASSERT_GE(expected.size(), static_cast<std::size_t>((kills + 1) * 10));
  ASSERT_TRUE(wait_until([&] {
    const auto got = distinct_seqs(probe);
    return std::includes(got.begin(), got.end(), expected.begin(), expected.end());
  })) << "received "
      << distinct_seqs(probe).size() << " of " << expected.size();
  const auto got = distinct_seqs(probe);
  EXPECT_TRUE(std::includes(expected.begin(), expected.end(), got.begin(), got.end()))
      << "a seq inside a skipped range was published";
  const auto total = static_cast<std::int64_t>(received_samples(probe).size());
  EXPECT_LE(total - static_cast<std::int64_t>(got.size()), kills * 16)
      << "more resends than samples in flight at the kills";
}

std::vector<std::int64_t> exported_seqs(const AgentRun& agent);

TEST(AgentPublish, CommittedDeliveryRemovesSamplesOnlyOnTheCollectorsAck) {
  MosquittoServer broker;
  HttpFixtureServer http;
  http.route("/a", json(k_body));
  AgentSetup setup;
  setup.url = broker.url();
  setup.source_urls = {http.url("/a")};
  AgentRun agent(setup);
  MqttProbe probe(broker.url(), k_rig_samples);
  auto& p = agent.start();
  ASSERT_TRUE(probe.wait_for_count(5)) << p.output();
  EXPECT_EQ(p.stop(), 0);
  const auto unacked = agent.stat("depth");
  EXPECT_GE(unacked, 5) << "PUBACK alone must not remove samples";

  // Act as the collector: an ack counts only for what this run of the agent published, so
  // wait until the restarted agent sent the backlog again, then ack it.
  std::vector<std::int64_t> seqs;
  for (const auto s : distinct_seqs(probe)) seqs.push_back(s);
  auto& q = agent.start();
  ASSERT_TRUE(wait_until([&] {
    std::map<std::int64_t, int> copies;
    for (const auto& s : received_samples(probe)) ++copies[s.seq];
    return std::all_of(seqs.begin(), seqs.end(), [&](std::int64_t s) { return copies[s] >= 2; });
  })) << q.output();
  probe.publish("streamtrack/v1/rig/ack", wire::encode_ack({wire::to_ranges(seqs)}));
  // The acked samples leave the outbox; the ones polled since the restart stay (no ack).
  ASSERT_TRUE(wait_until([&] {
    const auto left = exported_seqs(agent);
    return !left.empty() && left.front() > seqs.back();
  })) << q.output();
  EXPECT_EQ(q.stop(), 0);
}

void fill_outbox(AgentRun& agent, HttpFixtureServer& http, std::size_t polls) {
  auto& p = agent.start();
  ASSERT_TRUE(wait_until([&] { return http.request_count("/a") >= polls; })) << p.output();
  EXPECT_EQ(p.stop(), 0) << p.output();
}

std::vector<std::int64_t> exported_seqs(const AgentRun& agent) {
  std::vector<std::int64_t> out;
  std::istringstream in(agent.outbox("export").output);
  std::string line;
  while (std::getline(in, line)) {
    auto s = wire::decode_sample(line);
    EXPECT_TRUE(s) << line;
    if (s) out.push_back(s->seq);
  }
  return out;
}

TEST(AgentOutbox, FullOutboxDropsTheOldestAndCountsEveryDrop) {
  HttpFixtureServer http;
  http.route("/a", json(k_body));
  AgentSetup setup;
  setup.url = "mqtt://127.0.0.1:" + std::to_string(free_port());  // nobody listens
  setup.buffer_extra = "max_rows = 10\n";
  setup.source_urls = {http.url("/a")};
  setup.interval = "100ms";
  AgentRun agent(setup);
  fill_outbox(agent, http, 30);
  const auto last = agent.stat("last_seq");
  ASSERT_GT(last, 10);
  EXPECT_EQ(agent.stat("depth"), 10);
  EXPECT_EQ(agent.stat("dropped"), last - 10);
  EXPECT_EQ(agent.stat("dropped_oldest"), last - 10);
  EXPECT_NE(agent.all_output().find("outbox: full, dropped samples"), std::string::npos);
  std::vector<std::int64_t> want;
  for (auto s = last - 9; s <= last; ++s) want.push_back(s);
  EXPECT_EQ(exported_seqs(agent), want);
}

TEST(AgentOutbox, FullOutboxWithDropNewestKeepsTheFirstSamples) {
  HttpFixtureServer http;
  http.route("/a", json(k_body));
  AgentSetup setup;
  setup.url = "mqtt://127.0.0.1:" + std::to_string(free_port());
  setup.buffer_extra = "max_rows = 10\npolicy = \"drop_newest\"\n";
  setup.source_urls = {http.url("/a")};
  setup.interval = "100ms";
  AgentRun agent(setup);
  fill_outbox(agent, http, 30);
  const auto last = agent.stat("last_seq");
  ASSERT_GT(last, 10);
  EXPECT_EQ(agent.stat("depth"), 10);
  EXPECT_EQ(agent.stat("dropped_newest"), last - 10);
  EXPECT_NE(agent.all_output().find("outbox: full, dropped samples"), std::string::npos);
  EXPECT_EQ(exported_seqs(agent), (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  // Counters survive a restart.
  fill_outbox(agent, http, http.request_count("/a") + 5);
  EXPECT_EQ(agent.stat("dropped_newest"), agent.stat("last_seq") - 10);
}

TEST(AgentStatus, LastWillWhenKilledCleanOfflineWhenStoppedAndHealth) {
  MosquittoServer broker;
  HttpFixtureServer http;
  http.route("/a", json(k_body));
  AgentSetup setup;
  setup.url = broker.url();
  setup.mqtt_extra = "health_interval = \"1s\"\n";
  setup.source_urls = {http.url("/a")};
  AgentRun agent(setup);
  MqttProbe probe(broker.url(), {"streamtrack/v1/rig/status", "streamtrack/v1/rig/health"});
  const std::string status_topic = "streamtrack/v1/rig/status";

  auto& p = agent.start();
  auto online = probe.wait_for(status_topic, "\"online\"");
  ASSERT_TRUE(online) << p.output();
  auto st = wire::decode_status(online->payload);
  ASSERT_TRUE(st) << st.error();
  EXPECT_EQ(st->sources, 1);
  EXPECT_TRUE(st->version && st->started_at);
  auto health = probe.wait_for("streamtrack/v1/rig/health");
  ASSERT_TRUE(health) << p.output();
  auto h = wire::decode_health(health->payload);
  ASSERT_TRUE(h) << h.error() << " " << health->payload;
  EXPECT_GT(h->last_seq, 0);
  ASSERT_EQ(h->sources.size(), 1u);
  EXPECT_EQ(h->sources[0].name, "s0");

  probe.clear();
  p.signal(SIGKILL);
  auto will = probe.wait_for(status_topic, "offline");
  ASSERT_TRUE(will);
  EXPECT_EQ(will->payload.find("shutdown"), std::string::npos) << will->payload;

  auto& q = agent.start();
  ASSERT_TRUE(probe.wait_for(status_topic, "\"online\"")) << q.output();
  probe.clear();
  EXPECT_EQ(q.stop(), 0) << q.output();
  auto bye = probe.wait_for(status_topic, "offline");
  ASSERT_TRUE(bye);
  auto b = wire::decode_status(bye->payload);
  ASSERT_TRUE(b) << b.error();
  EXPECT_EQ(b->reason, "shutdown");
}

TEST(AgentTls, PublishesOverMqttsWithAClientCertificate) {
  MosquittoServer::Options bo;
  bo.tls = true;
  bo.require_client_cert = true;
  MosquittoServer broker(bo);
  const auto& tls = broker.tls_files();
  HttpFixtureServer http;
  http.route("/a", json(k_body));
  AgentSetup setup;
  setup.url = broker.tls_url();
  setup.mqtt_extra = "ca_file = \"" + tls.ca_cert.string() + "\"\ncert_file = \"" +
                     tls.client_cert.string() + "\"\nkey_file = \"" + tls.client_key.string() +
                     "\"\n";
  setup.source_urls = {http.url("/a")};
  AgentRun agent(setup);
  MqttProbe probe(broker.url(), k_rig_samples);
  auto& p = agent.start();
  ASSERT_TRUE(probe.wait_for_count(3)) << p.output();
  EXPECT_EQ(p.stop(), 0);
}

TEST(AgentTls, ABrokerCertificateFromAnotherCaIsRejected) {
  MosquittoServer::Options bo;
  bo.tls = true;
  MosquittoServer broker(bo);
  HttpFixtureServer http;
  http.route("/a", json(k_body));
  AgentSetup setup;
  setup.url = broker.tls_url();
  setup.mqtt_extra = "ca_file = \"" + broker.tls_files().other_ca_cert.string() + "\"\n";
  setup.source_urls = {http.url("/a")};
  AgentRun agent(setup);
  auto& p = agent.start();
  ASSERT_TRUE(wait_until([&] {
    const auto out = p.output();
    const auto first = out.find("connect failed");
    return first != std::string::npos && out.find("connect failed", first + 1) != std::string::npos;
  })) << p.output();
  EXPECT_EQ(p.output().find("mqtt: connected"), std::string::npos) << p.output();
  EXPECT_EQ(p.stop(), 0);
  EXPECT_GT(agent.stat("depth"), 0);  // kept for when the broker is trusted
}

}  // namespace
}  // namespace streamtrack::testing
