// The collector binary against real Mosquitto, PostgreSQL, a local webhook receiver and a real
// Alertmanager: alerts fire once on every sink, resolve, survive a restart and are inhibited.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "common/wire/codec.hpp"
#include "common/wire/topics.hpp"
#include "tests/support/alertmanager.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack::collector::alerts {
namespace {

using namespace streamtrack::testing;
using nlohmann::json;

const wire::Topics k_topics{"st/v1"};

class AlertsIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override { m_dsn = m_pg.create_database("streamtrack"); }

  std::unique_ptr<Process> start_collector(
      const std::string& alerts_toml, const std::string& id = "c1",
      const std::string& wait_for = "alerts: this collector notifies") {
    const std::string toml = "[collector]\nid = \"" + id +
                             "\"\nlog_level = \"debug\"\n[mqtt]\nurl = \"" + m_broker.url() +
                             "\"\ntopic_prefix = \"st/v1\"\n"
                             "reconnect_min = \"100ms\"\nreconnect_max = \"1s\"\n"
                             "[postgres]\ndsn = \"" +
                             m_dsn +
                             "\"\nconnect_timeout = \"2s\"\n"
                             "[batch]\nmax_delay = \"50ms\"\n[http]\nlisten = \"\"\n" +
                             alerts_toml;
    const auto path = m_dir / ("collector-" + id + ".toml");
    write_file(path, toml);
    Process::Options p;
    p.argv = {(bin_dir() / "streamtrack-collector").string(), "-c", path.string()};
    p.log_file = m_dir / ("collector-" + std::to_string(++m_starts) + ".log");
    auto proc = std::make_unique<Process>(p);
    EXPECT_TRUE(proc->wait_for_output(wait_for)) << proc->output();
    EXPECT_TRUE(proc->wait_for_output("mqtt: subscribed")) << proc->output();
    return proc;
  }

  static Sample sample(const std::string& agent, std::int64_t seq, TimePoint ts,
                       const std::string& channel, bool live, std::optional<std::int64_t> viewers) {
    Sample s;
    s.agent = agent;
    s.seq = seq;
    s.ts = ts;
    s.platform = "nginx_rtmp";
    s.channel = channel;
    s.live = live;
    s.viewers = viewers;
    return s;
  }

  static void publish(MqttProbe& probe, const Sample& s) {
    probe.publish(k_topics.metrics(s.agent, s.platform, s.channel), wire::encode_sample(s));
  }

  static std::vector<json> events(const MqttProbe& probe, const std::string& topic) {
    std::vector<json> out;
    for (const auto& m : probe.messages()) {
      if (m.topic == topic) out.push_back(json::parse(m.payload));
    }
    return out;
  }

  static std::vector<json> bodies(const HttpFixtureServer& http, const std::string& path) {
    std::vector<json> out;
    for (const auto& r : http.requests()) {
      if (r.path == path) out.push_back(json::parse(r.body));
    }
    return out;
  }

  std::string scalar(const std::string& sql) const { return pg_scalar(m_dsn, sql); }

  bool wait_scalar(const std::string& sql, const std::string& expected) const {
    std::string last;
    const bool ok = wait_until([&] {
      try {
        last = scalar(sql);
      } catch (const std::exception&) {
        return false;
      }
      return last == expected;
    });
    EXPECT_TRUE(ok) << sql << ": expected " << expected << ", last saw " << last;
    return ok;
  }

  PostgresServer m_pg;
  MosquittoServer m_broker;
  HttpFixtureServer m_http;
  TempDir m_dir{"streamtrack-alerts-it"};
  std::string m_dsn;
  int m_starts = 0;
};

TEST_F(AlertsIntegrationTest, ViewerDropFiresOnceOnEverySinkSurvivesRestartThenResolves) {
  HttpFixtureServer::Response ok;
  ok.body = "{}";
  m_http.route("/hook", ok);
  const std::string alerts = "[[alert_webhook]]\nname = \"hook\"\nurl = \"" + m_http.url("/hook") +
                             "\"\n"
                             "[[alert]]\nname = \"drop\"\nrule = \"viewer_drop\"\n"
                             "severity = \"critical\"\nthreshold = 50\nwindow = \"30s\"\n";
  MqttProbe probe(m_broker.url(), {"st/v1/alerts/#"});
  auto collector = start_collector(alerts);

  const auto t0 = *parse_rfc3339("2026-11-25T10:00:00Z");
  publish(probe, sample("a1", 1, t0, "live", true, 1000));
  publish(probe, sample("a1", 2, t0 + std::chrono::seconds{10}, "live", true, 400));  // -60 %

  const std::string event_topic = "st/v1/alerts/events/drop/nginx_rtmp/live";
  const std::string state_topic = "st/v1/alerts/drop/nginx_rtmp/live";
  ASSERT_TRUE(probe.wait_for(event_topic, "\"firing\"")) << collector->output();
  const auto state = probe.wait_for(state_topic, "\"firing\"");
  ASSERT_TRUE(state);
  const auto j = json::parse(state->payload);
  EXPECT_EQ(j["severity"], "critical");
  EXPECT_EQ(j["labels"]["agent"], "a1");
  EXPECT_DOUBLE_EQ(j["value"].get<double>(), 60.0);
  ASSERT_TRUE(wait_until([&] { return m_http.request_count("/hook") >= 1; }));
  EXPECT_EQ(bodies(m_http, "/hook")[0]["event"], "firing");
  wait_scalar(
      "SELECT count(*) FROM alerts WHERE rule = 'drop' AND state = 'firing' "
      "AND firing_sent AND alert_key = 'nginx_rtmp/live'",
      "1");

  // A restart resumes from the table: the still-firing alert is not sent again.
  EXPECT_EQ(collector->stop(), 0);
  collector = start_collector(alerts);
  EXPECT_TRUE(collector->wait_for_output("restored=1")) << collector->output();
  publish(probe, sample("a1", 3, t0 + std::chrono::seconds{20}, "live", true, 400));
  publish(probe, sample("a1", 4, t0 + std::chrono::seconds{30}, "live", true, 400));
  EXPECT_TRUE(collector->wait_for_output("ingest: progress samples=2")) << collector->output();

  // A full window without the 1000: the fall is over, the alert resolves.
  publish(probe, sample("a1", 5, t0 + std::chrono::seconds{55}, "live", true, 400));
  ASSERT_TRUE(probe.wait_for(event_topic, "\"resolved\"")) << collector->output();
  ASSERT_TRUE(wait_until([&] { return m_http.request_count("/hook") >= 2; }));
  wait_scalar(
      "SELECT count(*) FROM alerts WHERE rule = 'drop' AND state = 'resolved' "
      "AND resolved_at IS NOT NULL",
      "1");

  const auto sent = events(probe, event_topic);
  int firing = 0;
  for (const auto& e : sent) firing += e["event"] == "firing" ? 1 : 0;
  EXPECT_EQ(firing, 1);
  const auto hooks = bodies(m_http, "/hook");
  ASSERT_EQ(hooks.size(), 2u);
  EXPECT_EQ(hooks[0]["event"], "firing");
  EXPECT_EQ(hooks[1]["event"], "resolved");
  EXPECT_GT(hooks[1]["duration_s"].get<double>(), 0.0);
  EXPECT_EQ(scalar("SELECT count(*) FROM alerts"), "1");
  // The retained alert was cleared: the last message on the state topic is empty.
  std::string last_state = "?";
  for (const auto& m : probe.messages()) {
    if (m.topic == state_topic) last_state = m.payload;
  }
  EXPECT_EQ(last_state, "");
  EXPECT_EQ(collector->stop(), 0);
}

TEST_F(AlertsIntegrationTest, KilledAgentFiresAgentOfflineAndSuppressesItsStreamAlerts) {
  HttpFixtureServer::Response ok;
  ok.body = "{}";
  m_http.route("/hook", ok);
  const std::string alerts =
      "[[alert_webhook]]\nname = \"hook\"\nurl = \"" + m_http.url("/hook") +
      "\"\n"
      "[[alert]]\nname = \"agent-down\"\nrule = \"agent_offline\"\nseverity = \"critical\"\n"
      "[[alert]]\nname = \"stale\"\nrule = \"stale\"\nwindow = \"8s\"\n";
  MqttProbe probe(m_broker.url(), {"st/v1/alerts/#"});
  auto collector = start_collector(alerts);

  // The "agent": a real MQTT client holding a Last Will, as streamtrack-agent does.
  wire::Status will;
  will.state = "offline";
  Process::Options o;
  o.argv = {"/usr/bin/mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            std::to_string(m_broker.port()),
            "-i",
            "agent-a1",
            "-t",
            "st/v1/a1/ack",
            "--will-topic",
            "st/v1/a1/status",
            "--will-payload",
            wire::encode_status(will),
            "--will-retain",
            "--will-qos",
            "1"};
  o.log_file = m_dir / "agent.log";
  auto agent = std::make_unique<Process>(o);
  wire::Status online;
  online.state = "online";
  probe.publish("st/v1/a1/status", wire::encode_status(online), true);
  probe.publish("st/v1/a2/status", wire::encode_status(online), true);
  // Connected and subscribed once it prints what is published on its topic.
  ASSERT_TRUE(wait_until([&] {
    probe.publish("st/v1/a1/ack", "ping");
    return agent->output().find("ping") != std::string::npos;
  }));

  const auto now = SystemClock::instance().now();
  publish(probe, sample("a1", 1, now, "cam1", true, 10));
  publish(probe, sample("a2", 1, now, "cam2", true, 10));
  // publish() waited for the broker's PUBACK: the samples reach the collector before the Will.
  agent->signal(SIGKILL);  // the broker publishes its Will
  ASSERT_TRUE(probe.wait_for("st/v1/alerts/events/agent-down/a1", "\"firing\""))
      << collector->output();
  // Both channels go silent; only a2's stale alert reaches the sinks.
  ASSERT_TRUE(probe.wait_for("st/v1/alerts/events/stale/nginx_rtmp/cam2", "\"firing\""))
      << collector->output();
  wait_scalar(
      "SELECT count(*) FROM alerts WHERE rule = 'stale' AND state = 'firing' "
      "AND alert_key = 'nginx_rtmp/cam1' AND inhibited AND NOT firing_sent",
      "1");
  for (const auto& m : probe.messages()) {
    EXPECT_EQ(m.topic.find("cam1"), std::string::npos) << m.topic << " " << m.payload;
  }
  ASSERT_TRUE(wait_until([&] { return m_http.request_count("/hook") >= 2; }));
  for (const auto& b : bodies(m_http, "/hook")) {
    EXPECT_NE(b["labels"].value("channel", ""), "cam1") << b.dump();
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM alerts WHERE rule = 'agent-down' AND firing_sent"), "1");
  EXPECT_EQ(collector->stop(), 0);
}

TEST_F(AlertsIntegrationTest, AlertsReachARealAlertmanager) {
  AlertmanagerServer am;
  const std::string alerts =
      "[[alert_webhook]]\nname = \"am\"\npreset = \"alertmanager\"\nurl = \"" +
      am.url("/api/v2/alerts") +
      "\"\n"
      "[[alert]]\nname = \"on-air\"\nrule = \"went_live\"\nseverity = \"info\"\n"
      "[alert.labels]\nteam = \"video\"\n";
  MqttProbe probe(m_broker.url(), {"st/v1/alerts/#"});
  auto collector = start_collector(alerts);
  const auto now = SystemClock::instance().now();
  publish(probe, sample("a1", 1, now, "studio", true, 3));

  std::string body;
  ASSERT_TRUE(wait_until([&] {
    body = am.alerts();
    return body.find("on-air") != std::string::npos;
  })) << collector->output()
      << am.log();
  const auto list = json::parse(body);
  ASSERT_EQ(list.size(), 1u) << body;
  EXPECT_EQ(list[0]["labels"]["alertname"], "on-air");
  EXPECT_EQ(list[0]["labels"]["team"], "video");
  EXPECT_EQ(list[0]["labels"]["channel"], "studio");
  EXPECT_EQ(list[0]["status"]["state"], "active");
  EXPECT_NE(list[0]["annotations"]["summary"].get<std::string>().find("nginx_rtmp/studio"),
            std::string::npos);

  // Resolved: the Alertmanager gets endsAt and no longer lists the alert as active.
  publish(probe, sample("a1", 2, now + std::chrono::seconds{1}, "studio", false, {}));
  ASSERT_TRUE(probe.wait_for("st/v1/alerts/events/on-air/nginx_rtmp/studio", "\"resolved\""));
  EXPECT_TRUE(wait_until([&] {
    body = am.alerts();
    return body == "[]" || (body.find("on-air") == std::string::npos && !body.empty());
  })) << body;
  EXPECT_EQ(collector->stop(), 0);
}

TEST_F(AlertsIntegrationTest, WebhookRetriesWithBackoffAndASlowOneNeverBlocksIngest) {
  HttpFixtureServer::Response unavailable;
  unavailable.status = 503;
  unavailable.body = "busy";
  HttpFixtureServer::Response ok;
  ok.body = "{}";
  m_http.route_sequence("/flaky", {unavailable, unavailable, ok});
  HttpFixtureServer::Response hang;
  hang.hang = true;
  m_http.route("/hang", hang);
  const std::string alerts =
      "[[alert_webhook]]\nname = \"flaky\"\npreset = \"slack\"\nurl = \"" + m_http.url("/flaky") +
      "\"\n[[alert_webhook]]\nname = \"hang\"\ntimeout = \"30s\"\nurl = \"" + m_http.url("/hang") +
      "\"\n[[alert]]\nname = \"on-air\"\nrule = \"went_live\"\n";
  MqttProbe probe(m_broker.url(), {"st/v1/alerts/#"});
  auto collector = start_collector(alerts);
  const auto now = SystemClock::instance().now();
  publish(probe, sample("a1", 1, now, "studio", true, 3));

  ASSERT_TRUE(wait_until([&] { return m_http.request_count("/flaky") >= 3; }))
      << collector->output();
  EXPECT_TRUE(collector->wait_for_output("alerts: webhook failed, retrying webhook=flaky"));
  EXPECT_TRUE(collector->wait_for_output("error=\"HTTP 503: busy\""));
  EXPECT_TRUE(
      collector->wait_for_output("alerts: webhook delivered webhook=flaky alert=\"firing on-air"));
  std::vector<std::string> flaky;
  for (const auto& r : m_http.requests()) {
    if (r.path == "/flaky") flaky.push_back(r.body);
  }
  ASSERT_EQ(flaky.size(), 3u);
  EXPECT_EQ(flaky[0], flaky[2]);  // the same notification, retried
  EXPECT_NE(json::parse(flaky[2])["text"].get<std::string>().find("[FIRING] on-air"),
            std::string::npos);

  // The hanging webhook holds its own thread only: samples keep being stored.
  ASSERT_TRUE(wait_until([&] { return m_http.request_count("/hang") >= 1; }));
  for (std::int64_t seq = 2; seq <= 20; ++seq) {
    publish(probe, sample("a1", seq, now + std::chrono::seconds{seq}, "studio", true, 3));
  }
  wait_scalar("SELECT count(*) FROM livestream_metrics", "20");
  EXPECT_EQ(m_http.request_count("/hang"), 1u);
  EXPECT_EQ(collector->stop(), 0);
}

TEST_F(AlertsIntegrationTest, OfSeveralCollectorsOneNotifiesAndAnotherTakesOver) {
  HttpFixtureServer::Response ok;
  ok.body = "{}";
  m_http.route("/hook", ok);
  const std::string alerts = "[[alert_webhook]]\nname = \"hook\"\nurl = \"" + m_http.url("/hook") +
                             "\"\n[[alert]]\nname = \"on-air\"\nrule = \"went_live\"\n";
  MqttProbe probe(m_broker.url(), {"st/v1/alerts/#"});
  auto first = start_collector(alerts, "c1");
  auto second = start_collector(alerts, "c2", "alerts: another collector notifies");
  const auto now = SystemClock::instance().now();
  publish(probe, sample("a1", 1, now, "studio", true, 3));

  const std::string events_topic = "st/v1/alerts/events/on-air/nginx_rtmp/studio";
  ASSERT_TRUE(probe.wait_for(events_topic, "\"firing\""));
  ASSERT_TRUE(
      second->wait_for_output("alerts: firing alert=on-air/nginx_rtmp/studio (not notifying)"))
      << second->output();
  ASSERT_TRUE(first->wait_for_output("webhook delivered webhook=hook")) << first->output();
  EXPECT_EQ(m_http.request_count("/hook"), 1u);

  // The notifier dies; the other takes the lock, resumes from the table, sends no duplicate.
  first->signal(SIGKILL);
  first->wait();
  ASSERT_TRUE(second->wait_for_output("alerts: this collector notifies restored=1"))
      << second->output();
  publish(probe, sample("a1", 2, now + std::chrono::seconds{1}, "studio", false, {}));
  ASSERT_TRUE(probe.wait_for(events_topic, "\"resolved\"")) << second->output();
  ASSERT_TRUE(wait_until([&] { return m_http.request_count("/hook") >= 2; }));
  const auto hooks = bodies(m_http, "/hook");
  ASSERT_EQ(hooks.size(), 2u);
  EXPECT_EQ(hooks[0]["event"], "firing");
  EXPECT_EQ(hooks[0]["collector"], "c1");
  EXPECT_EQ(hooks[1]["event"], "resolved");
  EXPECT_EQ(hooks[1]["collector"], "c2");
  int firing = 0;
  for (const auto& e : events(probe, events_topic)) firing += e["event"] == "firing" ? 1 : 0;
  EXPECT_EQ(firing, 1);
  EXPECT_EQ(second->stop(), 0);
}

TEST_F(AlertsIntegrationTest, ALeaderThatLosesItsStoreStopsNotifyingUntilItLeadsAgain) {
  const std::string alerts = "[[alert]]\nname = \"on-air\"\nrule = \"went_live\"\n";
  MqttProbe probe(m_broker.url(), {"st/v1/alerts/#"});
  auto collector = start_collector(alerts);
  // Without its store the leader cannot know whether another collector took over: it stops.
  m_pg.stop();
  ASSERT_TRUE(collector->wait_for_output("alerts: state store unreachable, not notifying"))
      << collector->output();
  const auto now = SystemClock::instance().now();
  publish(probe, sample("a1", 1, now, "studio", true, 3));
  ASSERT_TRUE(
      collector->wait_for_output("alerts: firing alert=on-air/nginx_rtmp/studio (not notifying)"))
      << collector->output();
  for (const auto& m : probe.messages()) {
    EXPECT_EQ(m.topic.find("st/v1/alerts/events/"), std::string::npos)
        << "notified without its store: " << m.topic;
  }
  m_pg.start();
  ASSERT_TRUE(collector->wait_for_output("alerts: state store reachable again"))
      << collector->output();
  ASSERT_TRUE(wait_until([&] {
    const auto out = collector->output();
    return out.find("alerts: this collector notifies") !=
           out.rfind("alerts: this collector notifies");
  })) << collector->output();
  EXPECT_EQ(collector->stop(), 0);
}

// SIGHUP removes a rule that names one webhook: its open alert resolves on that webhook only,
// not on every webhook (the running rules no longer know the removed rule's list).
TEST_F(AlertsIntegrationTest, RemovedRuleResolvesOnlyOnTheWebhooksItNamed) {
  HttpFixtureServer::Response ok;
  ok.body = "{}";
  m_http.route("/pager", ok);
  m_http.route("/chat", ok);
  const std::string pager_rule =
      "[[alert]]\nname = \"live-pager\"\nrule = \"went_live\"\nwebhooks = [\"pager\"]\n";
  const std::string alerts =
      "[[alert_webhook]]\nname = \"pager\"\nurl = \"" + m_http.url("/pager") +
      "\"\n[[alert_webhook]]\nname = \"chat\"\nurl = \"" + m_http.url("/chat") +
      "\"\n[[alert]]\nname = \"live-chat\"\nrule = \"went_live\"\nwebhooks = [\"chat\"]\n" +
      pager_rule;
  MqttProbe probe(m_broker.url(), {"st/v1/alerts/#"});
  auto collector = start_collector(alerts);
  const auto now = SystemClock::instance().now();
  publish(probe, sample("a1", 1, now, "cam1", true, 10));
  ASSERT_TRUE(wait_until([&] {
    return m_http.request_count("/pager") == 1 && m_http.request_count("/chat") == 1;
  })) << collector->output();

  const auto config = m_dir / "collector-c1.toml";
  auto toml = read_file(config);
  toml.erase(toml.find(pager_rule), pager_rule.size());
  write_file(config, toml);
  collector->signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return m_http.request_count("/pager") == 2; }))
      << collector->output();
  EXPECT_EQ(bodies(m_http, "/pager")[1]["event"], "resolved");

  // A later alert for chat: each webhook sends in order, so once it arrived, anything the
  // reload queued for chat arrived before it.
  publish(probe, sample("a1", 2, now + 1s, "cam2", true, 10));
  ASSERT_TRUE(wait_until([&] {
    const auto sent = bodies(m_http, "/chat");
    return !sent.empty() && sent.back()["labels"].value("channel", "") == "cam2";
  })) << collector->output();
  const auto chat = bodies(m_http, "/chat");
  EXPECT_EQ(chat.size(), 2u);
  for (const auto& b : chat) {
    EXPECT_EQ(b["rule"], "live-chat") << b.dump();
    EXPECT_EQ(b["event"], "firing") << b.dump();
  }
  EXPECT_EQ(collector->stop(), 0);
}

}  // namespace
}  // namespace streamtrack::collector::alerts
