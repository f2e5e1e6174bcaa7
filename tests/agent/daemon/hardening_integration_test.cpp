// The real agent against a real Mosquitto, fed what an attacker or an unlucky operator would
// feed it: forged and stale acks, a second agent with the same id, a broker ACL that refuses
// the ack subscription, stream names that are not UTF-8, a stored sample no broker accepts.

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "common/wire/topics.hpp"
#include "tests/agent/daemon/acl_broker.hpp"
#include "tests/agent/daemon/agent_support.hpp"
#include "tests/support/http_client.hpp"

namespace streamtrack::testing {
namespace {

const std::string k_body = "{\"online\":true,\"viewers\":7}";
const std::string k_ack_topic = "streamtrack/v1/rig/ack";

// The value of one series of the agent's /metrics ("name{label=\"value\"}"). Throws (failing
// the test) when the endpoint does not answer or lacks the series: never a made-up value.
double metric(const std::string& listen, const std::string& series) {
  const auto reply = http_request("http://" + listen + "/metrics");
  if (reply.status != 200) {
    throw std::runtime_error("/metrics answered " + std::to_string(reply.status));
  }
  std::istringstream in(reply.body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  throw std::runtime_error("/metrics has no " + series + ":\n" + reply.body);
}

double acks_ignored(const std::string& listen, const std::string& reason) {
  return metric(listen, "streamtrack_agent_acks_ignored_total{reason=\"" + reason + "\"}");
}

TEST(AgentAcks, RetainedForgedAndOutOfRangeAcksAreCountedAndNeverApplied) {
  MosquittoServer broker;
  HttpFixtureServer http;
  http.route("/a", json(k_body));
  AgentSetup setup;
  setup.url = broker.url();
  setup.source_urls = {http.url("/a")};
  setup.http_listen = "127.0.0.1:" + std::to_string(free_port());
  AgentRun agent(setup);
  MqttProbe probe(broker.url(), k_rig_samples);
  // A retained ack waits on the ack topic before the agent starts (left by a misbehaving
  // client, or planted): it names seqs this agent has not even taken yet.
  probe.publish(k_ack_topic, wire::encode_ack({{{1, 1000}}}), true);
  auto& p = agent.start();
  ASSERT_TRUE(p.wait_for_output("reason=retained")) << p.output();
  ASSERT_TRUE(probe.wait_for_count(5)) << p.output();

  // Forged: the whole seq space, far beyond the last seq given out.
  probe.publish(k_ack_topic, wire::encode_ack({{{1, 9'007'199'254'740'991}}}));
  ASSERT_TRUE(p.wait_for_output("reason=beyond_last_seq")) << p.output();
  // Seqs above the last one given out can only come from a forger or a second agent.
  ASSERT_TRUE(p.wait_for_output("another agent may be using id=rig")) << p.output();
  EXPECT_EQ(acks_ignored(setup.http_listen, "retained"), 1000);
  EXPECT_GT(acks_ignored(setup.http_listen, "beyond_last_seq"), 0);
  EXPECT_EQ(p.stop(), 0) << p.output();
  const auto last = agent.stat("last_seq");
  ASSERT_GE(last, 5);
  EXPECT_EQ(agent.stat("depth"), last) << "a forged ack deleted samples";
  EXPECT_EQ(agent.all_output().find("ack: applied"), std::string::npos);

  // The same seqs, acked while no run of the agent has published them: an earlier life's
  // ack. Then, once this run published them, the real ack is applied.
  std::vector<std::int64_t> seqs;
  for (const auto s : distinct_seqs(probe)) seqs.push_back(s);
  probe.clear();
  auto& q = agent.start();
  ASSERT_TRUE(q.wait_for_output("mqtt: connected")) << q.output();
  ASSERT_TRUE(wait_until([&] {
    const auto got = distinct_seqs(probe);
    return std::all_of(seqs.begin(), seqs.end(), [&](std::int64_t s) { return got.count(s); });
  })) << q.output();
  probe.publish(k_ack_topic, wire::encode_ack({wire::to_ranges(seqs)}));
  ASSERT_TRUE(q.wait_for_output("ack: applied")) << q.output();
  ASSERT_TRUE(wait_until([&] {
    std::istringstream in(agent.outbox("export").output);
    std::string line;
    while (std::getline(in, line)) {
      const auto s = wire::decode_sample(line);
      if (s && s->seq <= seqs.back()) return false;
    }
    return true;
  })) << q.output();
  EXPECT_EQ(q.stop(), 0);
}

TEST(AgentAcks, AFloodOfAcksReachesAnIdleAgentAtOnce) {
  MosquittoServer broker;
  HttpFixtureServer http;
  http.route("/a", json(k_body));
  AgentSetup setup;
  setup.url = broker.url();
  setup.source_urls = {http.url("/a")};
  setup.interval = "60s";  // idle: nothing of its own wakes the loop
  setup.http_listen = "127.0.0.1:" + std::to_string(free_port());
  AgentRun agent(setup);
  MqttProbe probe(broker.url(), k_rig_samples);
  auto& p = agent.start();
  ASSERT_TRUE(p.wait_for_output("mqtt: subscribed")) << p.output();
  ASSERT_TRUE(probe.wait_for_count(1)) << p.output();
  // Each one a packet of its own on the agent's socket, read as soon as it arrives and all at
  // once (not one per wake-up: 600 of them would take minutes, the keepalive's pings behind).
  constexpr int k_flood = 600;
  for (int i = 0; i < k_flood; ++i) probe.publish(k_ack_topic, "not an ack");
  wait_until([&] {
    try {
      return acks_ignored(setup.http_listen, "malformed") == k_flood;
    } catch (const std::runtime_error&) {
      return false;  // none counted yet: the series appears with the first
    }
  });
  EXPECT_EQ(acks_ignored(setup.http_listen, "malformed"), k_flood);
  EXPECT_EQ(p.output().find("mqtt: disconnected"), std::string::npos) << p.output();
  EXPECT_EQ(p.stop(), 0) << p.output();
}

TEST(AgentAcks, TwoAgentsWithTheSameIdAreReported) {
  MosquittoServer broker;
  HttpFixtureServer http;
  http.route("/a", json(k_body));
  AgentSetup setup;
  setup.url = broker.url();
  setup.source_urls = {http.url("/a")};
  AgentRun first(setup);
  AgentRun second(setup);
  auto& a = first.start();
  ASSERT_TRUE(a.wait_for_output("mqtt: connected")) << a.output();
  auto& b = second.start();
  // Same id, same MQTT client id: the broker keeps dropping one for the other. Each says so.
  const std::string report = "another client may be using client_id=rig";
  ASSERT_TRUE(wait_until([&] {
    return a.output().find(report) != std::string::npos &&
           b.output().find(report) != std::string::npos;
  })) << a.output()
      << "\n-----\n"
      << b.output();
  // Both publish seq 1, 2, ...: an ack for seq 1 may be for the other's sample. While the
  // conflict lasts neither applies acks, so neither loses a sample the collector never stored.
  MqttProbe probe(broker.url(), {});
  ASSERT_TRUE(wait_until([&] {
    probe.publish(k_ack_topic, wire::encode_ack({{{1, 1}}}));
    return a.output().find("reason=identity_conflict") != std::string::npos &&
           b.output().find("reason=identity_conflict") != std::string::npos;
  })) << a.output()
      << "\n-----\n"
      << b.output();
  EXPECT_EQ(a.stop(), 0);
  EXPECT_EQ(b.stop(), 0);
  EXPECT_EQ(first.all_output().find("ack: applied"), std::string::npos);
  EXPECT_EQ(second.all_output().find("ack: applied"), std::string::npos);
  EXPECT_EQ(first.stat("depth"), first.stat("last_seq"));
  EXPECT_EQ(second.stat("depth"), second.stat("last_seq"));
}

TEST(AgentAcl, TheShippedAclLetsAnAgentWorkAndKeepsOthersOffItsAckTopic) {
  AclBroker broker({{"rig", "rig-secret"},
                    {"mallory", "mallory-secret"},
                    {"streamtrack-collector", "collector-secret"}});
  HttpFixtureServer http;
  http.route("/a", json(k_body));
  AgentSetup setup;
  setup.url = broker.url();
  setup.mqtt_extra = broker.credentials("rig");
  setup.http_listen = "127.0.0.1:" + std::to_string(free_port());
  setup.source_urls = {http.url("/a")};
  AgentRun agent(setup);
  const auto collector = broker.subscribe("streamtrack-collector", "streamtrack/v1/+/metrics/#");
  const auto seen = [&] {
    std::set<std::int64_t> seqs;
    std::istringstream in(collector->output());
    std::string line;
    while (std::getline(in, line)) {
      const auto space = line.find(' ');
      if (space == std::string::npos) continue;
      if (auto s = wire::decode_sample(line.substr(space + 1))) seqs.insert(s->seq);
    }
    return seqs;
  };
  auto& p = agent.start();
  ASSERT_TRUE(wait_until([&] { return seen().size() >= 3; })) << p.output() << broker.log();
  ASSERT_TRUE(wait_until([&] {
    return http_request("http://" + setup.http_listen + "/readyz").status == 200;
  })) << http_request("http://" + setup.http_listen + "/readyz").body
      << p.output();

  // Another agent cannot ack for this one: the broker drops its publish on rig's ack topic.
  broker.publish("mallory", k_ack_topic, wire::encode_ack({{{1, 1'000'000}}}));
  // The collector can, and that ack reaches the agent.
  std::vector<std::int64_t> seqs;
  for (const auto s : seen()) seqs.push_back(s);
  broker.publish("streamtrack-collector", k_ack_topic, wire::encode_ack({wire::to_ranges(seqs)}));
  ASSERT_TRUE(p.wait_for_output("ack: applied")) << p.output();
  EXPECT_EQ(p.output().find("reason=beyond_last_seq"), std::string::npos) << p.output();
  EXPECT_NE(broker.log().find("Denied PUBLISH from pub-mallory"), std::string::npos)
      << broker.log();
  EXPECT_EQ(p.stop(), 0);
}

TEST(AgentAcl, AnAgentTheAclKeepsOffItsAckTopicFailsReadyz) {
  // Agent "rig" logs in as "other": Mosquitto 2.0's acl_file grants the subscription to
  // rig's ack topic but never delivers to it, so acks never arrive.
  AclBroker broker({{"other", "other-secret"}, {"streamtrack-collector", "collector-secret"}});
  HttpFixtureServer http;
  http.route("/a", json(k_body));
  AgentSetup setup;
  setup.url = broker.url();
  setup.mqtt_extra = broker.credentials("other") + "ack_timeout = \"1s\"\n";
  setup.http_listen = "127.0.0.1:" + std::to_string(free_port());
  setup.source_urls = {http.url("/a")};
  AgentRun agent(setup);
  auto& p = agent.start();
  ASSERT_TRUE(p.wait_for_output("mqtt: connected")) << p.output();
  HttpReply ready;
  ASSERT_TRUE(wait_until([&] {
    broker.publish("streamtrack-collector", k_ack_topic, wire::encode_ack({{{1, 1}}}));
    ready = http_request("http://" + setup.http_listen + "/readyz");
    return ready.status == 503 && ready.body.find("no ack for") != std::string::npos;
  })) << ready.status
      << " " << ready.body << p.output();
  EXPECT_NE(ready.body.find("\"acks\""), std::string::npos) << ready.body;
  EXPECT_NE(ready.body.find(k_ack_topic), std::string::npos) << ready.body;
  EXPECT_EQ(p.stop(), 0);
}

TEST(AgentAcl, StatusAndHealthMessagesNeverWaitForAnAck) {
  // No samples at all (the source fails), only health and status: nothing for a collector
  // to ack, so the acks check must not wait for one.
  MosquittoServer broker;
  HttpFixtureServer http;
  HttpFixtureServer::Response failing;
  failing.status = 500;
  http.route("/a", failing);
  AgentSetup setup;
  setup.url = broker.url();
  setup.mqtt_extra = "ack_timeout = \"1s\"\nhealth_interval = \"1s\"\n";
  setup.http_listen = "127.0.0.1:" + std::to_string(free_port());
  setup.source_urls = {http.url("/a")};
  AgentRun agent(setup);
  MqttProbe probe(broker.url(), {"streamtrack/v1/rig/health"});
  auto& p = agent.start();
  ASSERT_TRUE(probe.wait_for_count(4)) << p.output();  // over three seconds of PUBACKed health
  const auto ready = http_request("http://" + setup.http_listen + "/readyz");
  const auto doc = nlohmann::json::parse(ready.body, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << ready.body;
  EXPECT_EQ(doc["checks"]["acks"]["ok"], true) << ready.body;
  EXPECT_EQ(p.stop(), 0);
}

TEST(AgentAcl, ARefusedAckSubscriptionFailsReadyzWithTheReason) {
  TempDir dir;
  const auto refusing = subscribe_refusing_broker(dir);
  auto& broker = *refusing;
  HttpFixtureServer http;
  http.route("/a", json(k_body));
  AgentSetup setup;
  setup.url = broker.url();
  setup.http_listen = "127.0.0.1:" + std::to_string(free_port());
  setup.source_urls = {http.url("/a")};
  AgentRun agent(setup);
  auto& p = agent.start();
  ASSERT_TRUE(p.wait_for_output("mqtt: subscription refused")) << p.output() << broker.log();
  EXPECT_NE(p.output().find("filter=" + k_ack_topic), std::string::npos) << p.output();
  EXPECT_NE(p.output().find("SUBACK code 0x80"), std::string::npos) << p.output();
  HttpReply ready;
  ASSERT_TRUE(wait_until([&] {
    ready = http_request("http://" + setup.http_listen + "/readyz");
    return ready.status == 503 && ready.body.find("refused") != std::string::npos;
  })) << ready.status
      << " " << ready.body;
  EXPECT_NE(ready.body.find("\"acks\""), std::string::npos) << ready.body;
  EXPECT_EQ(p.stop(), 0);
}

// nginx-rtmp /stat with stream names as a publisher may choose them: not UTF-8, a C1
// control, wildcards and a slash, and one longer than the wire allows.
std::string odd_stat_xml() {
  const std::string long_name(300, 'x');
  std::string xml =
      "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<rtmp><server><application>"
      "<name>live</name><live>";
  for (const std::string& name :
       {std::string("caf\xe9"), std::string("bad\xff\xfe"), std::string("c1\xc2\x85x"),
        std::string("a+b#c/d"), long_name, std::string("fine")}) {
    xml += "<stream><name>" + name + "</name><nclients>0</nclients></stream>";
  }
  xml += "</live></application></server></rtmp>\n";
  return xml;
}

TEST(AgentNames, NamesThatAreNotUtf8AreSafeAndAHealthySourceKeepsFlowing) {
  MosquittoServer broker;
  HttpFixtureServer http;
  http.route("/healthy", json(k_body));
  HttpFixtureServer::Response stat;
  stat.body = odd_stat_xml();
  stat.content_type = "text/xml";
  http.route("/stat", stat);
  AgentSetup setup;
  setup.url = broker.url();
  setup.source_urls = {http.url("/healthy")};
  setup.extra_sources = "[[source]]\ntype = \"nginx_rtmp\"\nname = \"rtmp\"\nurl = \"" +
                        http.url("/stat") + "\"\ninterval = \"100ms\"\n";
  AgentRun agent(setup);
  MqttProbe probe(broker.url(), {"streamtrack/v1/#"});
  auto& p = agent.start();
  ASSERT_TRUE(wait_until([&] { return http.request_count("/stat") >= 5; })) << p.output();
  const auto healthy_seen = [&] {
    std::size_t n = 0;
    for (const auto& s : received_samples(probe)) n += s.channel == "s0";
    return n;
  };
  const auto before = healthy_seen();
  ASSERT_TRUE(wait_until([&] { return healthy_seen() >= before + 10; })) << p.output();

  // Every odd name arrived, with a topic the collector's parser maps back to the payload.
  const wire::Topics topics;
  std::set<std::string> channels;
  for (const auto& m : probe.messages()) {
    if (m.topic.find("/metrics/nginx_rtmp/") == std::string::npos) continue;
    const auto sample = wire::decode_sample(m.payload);
    ASSERT_TRUE(sample) << sample.error() << " " << m.payload;
    const auto parsed = topics.parse(m.topic);
    ASSERT_TRUE(parsed) << m.topic;
    EXPECT_EQ(parsed->channel, sample->channel) << m.topic;
    channels.insert(sample->channel);
  }
  EXPECT_EQ(channels,
            (std::set<std::string>{"live/caf\xef\xbf\xbd", "live/bad\xef\xbf\xbd\xef\xbf\xbd",
                                   "live/c1\xc2\x85x", "live/a+b#c/d", "live/fine"}));
  // The over-long name is refused on its own, counted and logged with its reason.
  EXPECT_NE(p.output().find("sample rejected source=rtmp"), std::string::npos) << p.output();
  EXPECT_EQ(p.output().find("poll failed source=rtmp"), std::string::npos) << p.output();
  EXPECT_EQ(p.stop(), 0) << p.output();
}

TEST(AgentNames, AStoredSampleNoBrokerAcceptsIsQuarantinedAndTheOthersFlow) {
  MosquittoServer broker;
  HttpFixtureServer http;
  http.route("/a", json(k_body));
  AgentSetup setup;
  setup.url = "mqtt://127.0.0.1:" + std::to_string(free_port());  // nobody listens yet
  setup.mqtt_extra = "delivery = \"broker\"\n";
  setup.source_urls = {http.url("/a")};
  AgentRun agent(setup);
  {
    auto& p = agent.start();
    ASSERT_TRUE(wait_until([&] { return http.request_count("/a") >= 6; })) << p.output();
    EXPECT_EQ(p.stop(), 0) << p.output();
  }
  const auto last = agent.stat("last_seq");
  ASSERT_GE(last, 6);
  {
    // What an older agent could have stored: a topic that is not UTF-8, at the head.
    SQLite::Database db((agent.state() / "outbox.db").string(), SQLite::OPEN_READWRITE);
    db.exec(
        "UPDATE samples SET topic = 'streamtrack/v1/rig/metrics/x/' || CAST(X'FF' AS TEXT) "
        "WHERE seq = (SELECT min(seq) FROM samples)");
  }
  agent.setup().url = broker.url();
  agent.rewrite();
  MqttProbe probe(broker.url(), k_rig_samples);
  auto& p = agent.start();
  // Every stored sample behind the bad one (seq 1, the head of the backlog) arrives, and so do
  // new ones.
  ASSERT_TRUE(wait_until([&] {
    const auto got = distinct_seqs(probe);
    for (std::int64_t s = 2; s <= last + 3; ++s) {
      if (!got.count(s)) return false;
    }
    return true;
  })) << p.output();
  EXPECT_EQ(distinct_seqs(probe).count(1), 0u);
  EXPECT_NE(p.output().find("quarantined"), std::string::npos) << p.output();
  EXPECT_EQ(p.stop(), 0) << p.output();
  EXPECT_EQ(agent.stat("quarantined"), 1) << agent.outbox("stats").output;
  EXPECT_EQ(agent.stat("depth"), 0) << agent.outbox("stats").output;
}

TEST(AgentPublishRefusals, ASampleTheBrokerRefusesForGoodIsQuarantinedAndTheOthersFlow) {
  // MQTT 5 and a broker that takes at most 1000 bytes a message: it answers a bigger QoS 1
  // publish with PUBACK 0x95 (packet too large), for good.
  CustomBroker broker("message_size_limit 1000\n");
  HttpFixtureServer http;
  http.route("/small", json(k_body));
  http.route("/big",
             json("{\"online\":true,\"viewers\":7,\"title\":\"" + std::string(1500, 't') + "\"}"));
  AgentSetup setup;
  setup.url = broker.url();
  setup.mqtt_extra = "protocol = \"5\"\ndelivery = \"broker\"\n";
  setup.source_urls = {http.url("/small")};
  setup.extra_sources = "[[source]]\ntype = \"http_json\"\nname = \"big\"\nurl = \"" +
                        http.url("/big") +
                        "\"\ninterval = \"100ms\"\n[source.fields]\nlive = \"/online\"\n"
                        "viewers = \"/viewers\"\ntitle = \"/title\"\n";
  AgentRun agent(setup);
  MqttProbe probe(broker.url(), k_rig_samples);
  auto& p = agent.start();
  ASSERT_TRUE(wait_until([&] { return http.request_count("/big") >= 5; })) << p.output();
  const auto small_seen = [&] {
    std::size_t n = 0;
    for (const auto& s : received_samples(probe)) n += s.channel == "s0";
    return n;
  };
  const auto before = small_seen();
  ASSERT_TRUE(wait_until([&] { return small_seen() >= before + 10; })) << p.output();
  ASSERT_TRUE(p.wait_for_output("PUBACK reason 0x95")) << p.output() << broker.log();
  EXPECT_EQ(p.stop(), 0) << p.output();
  for (const auto& s : received_samples(probe)) EXPECT_NE(s.channel, "big");
  EXPECT_GE(agent.stat("quarantined"), 5) << agent.outbox("stats").output;
  EXPECT_EQ(agent.stat("depth"), 0) << agent.outbox("stats").output;
}

}  // namespace
}  // namespace streamtrack::testing
