// promtool and a real Prometheus against the metrics endpoint (of both metric sets).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/http/status_server.hpp"
#include "tests/http/http_client.hpp"
#include "tests/support/harness.hpp"

namespace streamtrack::http {
namespace {

namespace st = streamtrack::testing;
using namespace std::chrono_literals;

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

TEST(Prometheus, ScrapesBothTargetsAsUp) {
  AgentMetrics agent;
  CollectorMetrics collector;
  exercise(agent, collector);
  StatusServer agent_server({"127.0.0.1:0", {}}, agent);
  StatusServer collector_server({"127.0.0.1:0", {}}, collector);
  st::TempDir dir("prometheus");
  const auto web_port = st::free_port();
  st::write_file(dir / "prometheus.yml",
                 "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                 "scrape_configs:\n"
                 "  - job_name: streamtrack-agent\n    static_configs:\n"
                 "      - targets: ['127.0.0.1:" +
                     std::to_string(agent_server.port()) +
                     "']\n"
                     "  - job_name: streamtrack-collector\n    static_configs:\n"
                     "      - targets: ['127.0.0.1:" +
                     std::to_string(collector_server.port()) + "']\n");
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
  ASSERT_TRUE(both_up) << last.dump(2) << "\n" << prometheus.output();
  // The scraped series are queryable, labelled by job.
  std::string body;
  ASSERT_TRUE(st::wait_until([&] {
    const auto reply = st::http_request(api + "query?query=streamtrack_build_info");
    body = reply.body;
    return reply.status == 200 && body.find("streamtrack-agent") != std::string::npos &&
           body.find("streamtrack-collector") != std::string::npos;
  })) << body;
  ASSERT_TRUE(st::wait_until([&] {
    const auto reply = st::http_request(api + "query?query=streamtrack_agent_outbox_depth_rows");
    body = reply.body;
    return reply.status == 200 && body.find("\"10\"") != std::string::npos;
  })) << body;
}

}  // namespace
}  // namespace streamtrack::http
