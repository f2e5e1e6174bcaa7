// promtool and a real Prometheus against the metrics endpoints: of the real daemons (agent and
// collector with real Mosquitto, PostgreSQL and a polled HTTP source), and of both metric sets
// with every family populated (in process).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "common/status/status_server.hpp"
#include "common/util/time.hpp"
#include "common/version.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/http_client.hpp"

namespace streamtrack::status {
namespace {

namespace st = streamtrack::testing;
using namespace std::chrono_literals;

// The value of the sample `series` (name with its labels, as rendered) in a text exposition;
// nullopt when absent.
std::optional<double> sample_value(const std::string& text, const std::string& series) {
  const std::string needle = "\n" + series + " ";
  const auto at = ("\n" + text).find(needle);
  if (at == std::string::npos) return std::nullopt;
  const auto begin = at + needle.size() - 1;  // offset in `text` (the added "\n")
  const auto end = text.find('\n', begin);
  double value = 0;
  const auto* first = text.data() + begin;
  const auto* last = text.data() + (end == std::string::npos ? text.size() : end);
  if (std::from_chars(first, last, value).ec != std::errc{}) return std::nullopt;
  return value;
}

std::string write_agent_config(const st::TempDir& dir, const std::string& broker_url,
                               std::uint16_t http_port, const std::string& source_url) {
  const auto path = dir / "agent.toml";
  std::filesystem::create_directories(dir / "agent-state");
  st::write_file(path, "[agent]\nid = \"metrics-agent\"\nstate_dir = \"" +
                           (dir / "agent-state").string() +
                           "\"\nshutdown_timeout = \"1s\"\n"
                           "[mqtt]\nurl = \"" +
                           broker_url +
                           "\"\nreconnect_min = \"50ms\"\nreconnect_max = \"500ms\"\n"
                           "[http]\nlisten = \"127.0.0.1:" +
                           std::to_string(http_port) +
                           "\"\n"
                           "[[source]]\ntype = \"http_json\"\nname = \"rig\"\nurl = \"" +
                           source_url +
                           "\"\ninterval = \"200ms\"\ntimeout = \"5s\"\n"
                           "[source.fields]\nlive = \"/online\"\nviewers = \"/viewers\"\n");
  return path.string();
}

std::string write_collector_config(const st::TempDir& dir, const std::string& broker_url,
                                   const std::string& dsn, std::uint16_t http_port) {
  const auto path = dir / "collector.toml";
  st::write_file(path,
                 "[collector]\nid = \"metrics-collector\"\nshutdown_timeout = \"2s\"\n"
                 "[mqtt]\nurl = \"" +
                     broker_url +
                     "\"\nreconnect_min = \"100ms\"\nreconnect_max = \"1s\"\n"
                     "[postgres]\ndsn = \"" +
                     dsn +
                     "\"\nconnect_timeout = \"2s\"\n"
                     "[batch]\nmax_delay = \"50ms\"\n"
                     "[http]\nlisten = \"127.0.0.1:" +
                     std::to_string(http_port) + "\"\n");
  return path.string();
}

// The real daemons on loopback: Mosquitto, PostgreSQL, an HTTP source the agent polls, the
// agent and the collector, each serving /metrics /healthz /readyz on its own free port.
class DaemonStack {
 public:
  DaemonStack() : m_dsn(m_postgres.create_database("streamtrack")) {
    m_source.route("/status", {.status = 200,
                               .content_type = "application/json",
                               .body = R"({"online":true,"viewers":7})",
                               .headers = {},
                               .delay = {},
                               .hang = false});
    m_collector_port = st::free_port();
    do {
      m_agent_port = st::free_port();
    } while (m_agent_port == m_collector_port);
    st::Process::Options collector;
    collector.argv = {(st::bin_dir() / "streamtrack-collector").string(), "-c",
                      write_collector_config(m_dir, m_broker.url(), m_dsn, m_collector_port)};
    collector.log_file = m_dir / "collector.log";
    m_collector = std::make_unique<st::Process>(std::move(collector));
    st::Process::Options agent;
    agent.argv = {(st::bin_dir() / "streamtrack-agent").string(), "-c",
                  write_agent_config(m_dir, m_broker.url(), m_agent_port, m_source.url("/status"))};
    agent.log_file = m_dir / "agent.log";
    m_agent = std::make_unique<st::Process>(std::move(agent));
  }

  // Both daemons said they are ready.
  bool wait_ready() const {
    return m_collector->wait_for_output("collector: ready") &&
           m_agent->wait_for_output("agent: ready");
  }

  // Samples polled by the agent went through the broker into PostgreSQL, as both daemons'
  // metrics show.
  bool wait_traffic() const {
    return st::wait_until([&] {
      const auto agent =
          sample_value(get(m_agent_port, "/metrics").body, "streamtrack_agent_published_total");
      const auto rows = sample_value(get(m_collector_port, "/metrics").body,
                                     "streamtrack_collector_ingest_rows_total");
      return agent.value_or(0) > 0 && rows.value_or(0) > 0;
    });
  }

  static st::HttpReply get(std::uint16_t port, const std::string& path) {
    return st::http_request("http://127.0.0.1:" + std::to_string(port) + path);
  }

  std::uint16_t agent_port() const { return m_agent_port; }
  std::uint16_t collector_port() const { return m_collector_port; }
  st::MosquittoServer& broker() { return m_broker; }
  st::PostgresServer& postgres() { return m_postgres; }
  std::string logs() const {
    return "--- collector:\n" + m_collector->output() + "--- agent:\n" + m_agent->output();
  }

 private:
  st::MosquittoServer m_broker;
  st::PostgresServer m_postgres;
  st::HttpFixtureServer m_source;
  st::TempDir m_dir{"http-daemons"};
  std::string m_dsn;
  std::uint16_t m_agent_port = 0;
  std::uint16_t m_collector_port = 0;
  std::unique_ptr<st::Process> m_collector;
  std::unique_ptr<st::Process> m_agent;
};

void expect_promtool_clean(const st::TempDir& dir, const std::string& name,
                           const std::string& metrics) {
  const auto file = dir / ("metrics-" + name + ".txt");
  st::write_file(file, metrics);
  const auto result =
      st::run_command({"/bin/sh", "-c", "promtool check metrics < '" + file.string() + "'"});
  EXPECT_EQ(result.exit_code, 0) << name << ": " << result.output << "\n--- metrics:\n" << metrics;
  EXPECT_EQ(result.output, "") << name << ": promtool lint findings";
}

// Both metric sets with every family holding at least one series, as after some traffic.
void exercise(AgentMetrics& agent, CollectorMetrics& collector) {
  agent.poll_finished("rig", "nginx_rtmp", Outcome::ok, 0.02s, 2);
  agent.poll_finished("radio", "icecast", Outcome::error, 1.5s, 0);
  agent.set_outbox(10, 2048);
  agent.count_outbox_drops("drop_oldest", 1);
  agent.set_publish_inflight(3);
  agent.count_published(12);
  agent.count_acks("committed", 9);
  agent.count_publish_failures(1);
  agent.set_mqtt_connected(true);
  collector.count_ingest_rows(500);
  collector.count_ingest_rejects("decode", 1);
  collector.batch_written(500, 0.03s, Outcome::ok);
  collector.set_pending_rows(0);
  collector.count_acks_sent(2);
  collector.set_pool(2, 0, 0);
  collector.set_database_up(true);
  collector.set_alerts("firing", 1);
  collector.count_alert_transition("stream-offline", "firing");
}

TEST(Promtool, AcceptsBothMetricsOutputs) {
  AgentMetrics agent;
  CollectorMetrics collector;
  exercise(agent, collector);
  StatusServer agent_server({"127.0.0.1:0", {}}, agent);
  StatusServer collector_server({"127.0.0.1:0", {}}, collector);
  st::TempDir dir("promtool");
  for (const auto* server : {&agent_server, &collector_server}) {
    const auto reply =
        st::http_request("http://127.0.0.1:" + std::to_string(server->port()) + "/metrics");
    ASSERT_EQ(reply.status, 200);
    const auto file = dir / ("metrics-" + std::to_string(server->port()) + ".txt");
    st::write_file(file, reply.body);
    const auto result =
        st::run_command({"/bin/sh", "-c", "promtool check metrics < '" + file.string() + "'"});
    EXPECT_EQ(result.exit_code, 0) << result.output << "\n--- metrics:\n" << reply.body;
    EXPECT_EQ(result.output, "") << "promtool lint findings";
  }
}

TEST(Promtool, AcceptsMetricsOfTheRealDaemons) {
  DaemonStack stack;
  ASSERT_TRUE(stack.wait_ready()) << stack.logs();
  ASSERT_TRUE(stack.wait_traffic()) << stack.logs();
  st::TempDir dir("promtool-daemons");
  const auto agent = DaemonStack::get(stack.agent_port(), "/metrics");
  const auto collector = DaemonStack::get(stack.collector_port(), "/metrics");
  ASSERT_EQ(agent.status, 200);
  ASSERT_EQ(collector.status, 200);
  // What the daemons really recorded, not just the families' zero series.
  EXPECT_GT(sample_value(agent.body, "streamtrack_agent_published_total").value_or(0), 0)
      << agent.body;
  EXPECT_EQ(sample_value(agent.body, "streamtrack_mqtt_connected"), 1) << agent.body;
  EXPECT_GT(
      sample_value(agent.body,
                   R"(streamtrack_agent_polls_total{outcome="ok",source="rig",type="http_json"})")
          .value_or(0),
      0)
      << agent.body;
  EXPECT_GT(
      sample_value(agent.body, R"(streamtrack_agent_poll_duration_seconds_count{source="rig"})")
          .value_or(0),
      0)
      << agent.body;
  EXPECT_EQ(sample_value(collector.body, "streamtrack_mqtt_connected"), 1) << collector.body;
  EXPECT_GE(sample_value(collector.body, "streamtrack_mqtt_connects_total").value_or(0), 1);
  EXPECT_GT(sample_value(collector.body, R"(streamtrack_collector_batches_total{outcome="ok"})")
                .value_or(0),
            0)
      << collector.body;
  EXPECT_GT(sample_value(collector.body, "streamtrack_collector_batch_rows_count").value_or(0), 0);
  EXPECT_GT(sample_value(collector.body, "streamtrack_collector_acks_sent_total").value_or(0), 0);
  EXPECT_EQ(sample_value(collector.body, "streamtrack_collector_postgres_up"), 1);
  expect_promtool_clean(dir, "agent", agent.body);
  expect_promtool_clean(dir, "collector", collector.body);
}

TEST(Prometheus, ScrapesBothTargetsAsUp) {
  DaemonStack stack;
  ASSERT_TRUE(stack.wait_ready()) << stack.logs();
  st::TempDir dir("prometheus");
  const auto web_port = st::free_port();
  st::write_file(dir / "prometheus.yml",
                 "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                 "scrape_configs:\n"
                 "  - job_name: streamtrack-agent\n    static_configs:\n"
                 "      - targets: ['127.0.0.1:" +
                     std::to_string(stack.agent_port()) +
                     "']\n"
                     "  - job_name: streamtrack-collector\n    static_configs:\n"
                     "      - targets: ['127.0.0.1:" +
                     std::to_string(stack.collector_port()) + "']\n");
  st::Process::Options options;
  options.argv = {"/usr/bin/prometheus", "--config.file=" + (dir / "prometheus.yml").string(),
                  "--storage.tsdb.path=" + (dir / "data").string(),
                  "--web.listen-address=127.0.0.1:" + std::to_string(web_port)};
  options.log_file = dir / "prometheus.log";
  st::Process prometheus(std::move(options));
  const std::string api = "http://127.0.0.1:" + std::to_string(web_port) + "/api/v1/";
  nlohmann::json last;
  const bool both_up = st::wait_until([&] {
    const auto reply = st::http_request(api + "targets?state=active");
    if (reply.status != 200) return false;
    last = nlohmann::json::parse(reply.body, nullptr, false);
    if (last.is_discarded()) return false;
    int up = 0;
    for (const auto& target : last["data"]["activeTargets"]) {
      if (target.value("health", "") == "up") ++up;
    }
    return up == 2;
  });
  ASSERT_TRUE(both_up) << last.dump(2) << "\n" << prometheus.output() << stack.logs();
  // The scraped series are queryable, labelled by job, and carry the daemons' real figures.
  std::string body;
  ASSERT_TRUE(st::wait_until([&] {
    const auto reply = st::http_request(api + "query?query=streamtrack_build_info");
    body = reply.body;
    return reply.status == 200 && body.find("streamtrack-agent") != std::string::npos &&
           body.find("streamtrack-collector") != std::string::npos;
  })) << body;
  const auto query_has_result = [&](const std::string& query) {
    return st::wait_until([&] {
      const auto reply = st::http_request(api + "query?query=" + query);
      body = reply.body;
      const auto json = nlohmann::json::parse(body, nullptr, false);
      return reply.status == 200 && !json.is_discarded() && json["data"]["result"].is_array() &&
             !json["data"]["result"].empty();
    });
  };
  // URL-encoded: streamtrack_agent_published_total > 0
  EXPECT_TRUE(query_has_result("streamtrack_agent_published_total%3E0")) << body;
  // streamtrack_collector_ingest_rows_total > 0
  EXPECT_TRUE(query_has_result("streamtrack_collector_ingest_rows_total%3E0")) << body;
  // up == 1, for both jobs
  EXPECT_TRUE(query_has_result("count%28up%3D%3D1%29%3D%3D2")) << body;
}

TEST(Health, RealDaemonsAnswerHealthzAndReadyz) {
  DaemonStack stack;
  ASSERT_TRUE(stack.wait_ready()) << stack.logs();
  const std::pair<std::uint16_t, std::string> daemons[] = {
      {stack.agent_port(), "streamtrack-agent"}, {stack.collector_port(), "streamtrack-collector"}};
  for (const auto& [port, daemon] : daemons) {
    const auto reply = DaemonStack::get(port, "/healthz");
    EXPECT_EQ(reply.status, 200) << daemon;
    EXPECT_EQ(reply.content_type, "application/json") << daemon;
    const auto json = nlohmann::json::parse(reply.body, nullptr, false);
    ASSERT_FALSE(json.is_discarded()) << daemon << ": " << reply.body;
    EXPECT_EQ(json.value("status", ""), "healthy") << reply.body;
    EXPECT_EQ(json.value("version", ""), k_version) << reply.body;
    EXPECT_EQ(json.value("daemon", ""), daemon) << reply.body;
    const auto stamp = parse_rfc3339(json.value("timestamp", ""));
    ASSERT_TRUE(stamp) << reply.body;
    EXPECT_LT(std::chrono::abs(std::chrono::system_clock::now() - *stamp), 60s) << reply.body;
  }

  // Ready with the broker and the database up (the agent also checks its outbox and the age
  // of its last successful poll).
  nlohmann::json ready;
  const auto readyz = [&](std::uint16_t port, int status) {
    return st::wait_until([&] {
      const auto reply = DaemonStack::get(port, "/readyz");
      ready = nlohmann::json::parse(reply.body, nullptr, false);
      return reply.status == status && !ready.is_discarded();
    });
  };
  ASSERT_TRUE(readyz(stack.collector_port(), 200)) << ready.dump(2) << stack.logs();
  EXPECT_EQ(ready["status"], "ok");
  EXPECT_EQ(ready["checks"]["broker"]["ok"], true) << ready.dump(2);
  EXPECT_EQ(ready["checks"]["database"]["ok"], true) << ready.dump(2);
  ASSERT_TRUE(readyz(stack.agent_port(), 200)) << ready.dump(2) << stack.logs();
  EXPECT_EQ(ready["status"], "ok");
  EXPECT_EQ(ready["checks"]["broker"]["ok"], true) << ready.dump(2);
  EXPECT_EQ(ready["checks"]["outbox"]["ok"], true) << ready.dump(2);
  EXPECT_EQ(ready["checks"]["last_poll"]["ok"], true) << ready.dump(2);

  // Broker gone: the collector is not ready and names the broker, the database still passes.
  stack.broker().stop();
  ASSERT_TRUE(readyz(stack.collector_port(), 503)) << ready.dump(2) << stack.logs();
  EXPECT_EQ(ready["status"], "fail");
  EXPECT_EQ(ready["failing"], nlohmann::json::array({"broker"})) << ready.dump(2);
  EXPECT_EQ(ready["checks"]["broker"]["ok"], false) << ready.dump(2);
  EXPECT_EQ(ready["checks"]["database"]["ok"], true) << ready.dump(2);
  EXPECT_EQ(sample_value(DaemonStack::get(stack.collector_port(), "/metrics").body,
                         "streamtrack_mqtt_connected"),
            0);
  // The process still serves: healthz stays 200.
  EXPECT_EQ(DaemonStack::get(stack.collector_port(), "/healthz").status, 200);
  // The agent keeps polling into its outbox but is not ready without its broker.
  ASSERT_TRUE(readyz(stack.agent_port(), 503)) << ready.dump(2) << stack.logs();
  EXPECT_EQ(ready["failing"], nlohmann::json::array({"broker"})) << ready.dump(2);
  EXPECT_EQ(ready["checks"]["last_poll"]["ok"], true) << ready.dump(2);
  EXPECT_EQ(DaemonStack::get(stack.agent_port(), "/healthz").status, 200);

  stack.broker().start();
  ASSERT_TRUE(readyz(stack.collector_port(), 200)) << ready.dump(2) << stack.logs();
  ASSERT_TRUE(readyz(stack.agent_port(), 200)) << ready.dump(2) << stack.logs();

  // Database gone: found by the periodic probe, named as "database".
  stack.postgres().stop();
  ASSERT_TRUE(readyz(stack.collector_port(), 503)) << ready.dump(2) << stack.logs();
  EXPECT_EQ(ready["failing"], nlohmann::json::array({"database"})) << ready.dump(2);
  EXPECT_EQ(sample_value(DaemonStack::get(stack.collector_port(), "/metrics").body,
                         "streamtrack_collector_postgres_up"),
            0);
  stack.postgres().start();
  ASSERT_TRUE(readyz(stack.collector_port(), 200)) << ready.dump(2) << stack.logs();
}

}  // namespace
}  // namespace streamtrack::status
