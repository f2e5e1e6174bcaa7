// Every block of docs/integrations.md marked `<!-- example: NAME -->` is run here against real
// servers, so the worked examples cannot drift from what the collector does.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "collector/config/collector_config.hpp"
#include "collector/homeassistant/discovery.hpp"
#include "common/version.hpp"
#include "tests/collector/integration/collector_fixture.hpp"
#include "tests/support/http_client.hpp"

namespace streamtrack::collector::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// The fenced block that follows `<!-- example: name -->` in docs/integrations.md.
std::string example(const std::string& name) {
  const auto doc = read_file(source_dir() / "docs/integrations.md");
  const auto marker = doc.find("<!-- example: " + name + " -->");
  if (marker == std::string::npos) throw std::runtime_error("no example " + name);
  const auto open = doc.find("```", marker);
  const auto body = doc.find('\n', open) + 1;
  const auto close = doc.find("\n```", body);
  return doc.substr(body, close - body + 1);
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// MQTT filter matching for the Node-RED subscription.
bool matches(const std::string& filter, const std::string& topic) {
  if (filter.size() >= 2 && filter.compare(filter.size() - 2, 2, "/#") == 0) {
    const auto head = filter.substr(0, filter.size() - 1);
    return topic.rfind(head, 0) == 0 || topic + "/" == head;
  }
  return filter == topic;
}

TEST(DocExamples, HomeAssistantExampleIsWhatTheCollectorPublishes) {
  auto documented = json::parse(example("homeassistant-viewers"));
  const auto configs =
      homeassistant::channel_configs(wire::Topics{"streamtrack/v1"}, {}, "twitch", "somestreamer");
  const auto& viewers = configs[1];
  auto published = json::parse(viewers.payload);
  // The version in the doc is whichever was current when it was written.
  documented["device"]["sw_version"] = documented["origin"]["sw_version"] = k_version;
  EXPECT_EQ(documented, published) << published.dump(2);
  EXPECT_THAT(read_file(source_dir() / "docs/integrations.md"),
              HasSubstr("`" + viewers.topic + "`"));

  const auto config = parse_collector_config(
      "[postgres]\ndsn = \"host=127.0.0.1\"\n" + example("collector-homeassistant"), "c.toml");
  EXPECT_TRUE(config.homeassistant_enabled);
  EXPECT_EQ(config.homeassistant_prefix, "homeassistant");
}

// A database made by setup-db, a collector writing as its writer role, one committed channel.
class DocExamplesIT : public CollectorTest {
 protected:
  void SetUp() override {
    const auto setup = run_command(
        {(bin_dir() / "streamtrack-collector").string(), "setup-db", "--admin-dsn", m_pg.dsn()});
    ASSERT_EQ(setup.exit_code, 0) << setup.output;
    m_dsn = m_pg.dsn("streamtrack") + " user=streamtrack";
    m_reader = m_pg.dsn("streamtrack") + " user=streamtrack_web";
  }
  // Starts the collector and commits two samples of st/v1/live/nginx_rtmp/live%2Fmain.
  void start_and_commit(CollectorOptions o = {}) {
    m_collector = start_collector(o);
    m_probe = std::make_unique<MqttProbe>(m_broker.url(), std::vector<std::string>{"st/v1/live/#"});
    ASSERT_TRUE(m_probe->wait_connected());
    publish(*m_probe, make_sample("rig", 1, "2030-01-01T00:00:00Z", "live/main"));
    publish(*m_probe, make_sample("rig", 2, "2030-01-01T00:00:30Z", "live/main"));
    ASSERT_TRUE(m_probe->wait_for(k_live_topic, "\"t\":\"2030-01-01T00:00:30.000Z\""))
        << m_collector->output();
  }
  // A documented shell recipe for this broker and topic root, ended after one message.
  CommandResult run_recipe(const std::string& name) {
    auto command = replace_all(example(name), "streamtrack/v1", "st/v1");
    command = replace_all(command, "-p 1883", "-p " + std::to_string(m_broker.port()));
    command = replace_all(command, "mosquitto_sub ", "mosquitto_sub -C 1 -W 60 ");
    return run_command({"sh", "-c", command});
  }

  static constexpr const char* k_live_topic = "st/v1/live/nginx_rtmp/live%2Fmain";
  std::string m_reader;
  std::unique_ptr<Process> m_collector;
  std::unique_ptr<MqttProbe> m_probe;
};

TEST_F(DocExamplesIT, MosquittoSubRecipesPrintCommittedValuesAndCollectors) {
  start_and_commit();
  const auto live = run_recipe("mosquitto_sub-live");
  ASSERT_EQ(live.exit_code, 0) << live.output;
  ASSERT_THAT(live.output, ::testing::StartsWith(std::string(k_live_topic) + " {"));
  const auto value = json::parse(live.output.substr(std::string(k_live_topic).size() + 1));
  EXPECT_EQ(value["channel"], "live/main");
  EXPECT_EQ(value["t"], "2030-01-01T00:00:30.000Z");

  const auto jq = run_recipe("mosquitto_sub-jq");
  ASSERT_EQ(jq.exit_code, 0) << jq.output;
  const auto line = json::parse(jq.output);
  EXPECT_EQ(line, json::parse(R"({"platform":"nginx_rtmp","channel":"live/main","live":true,
                                  "viewers":2,"chat_per_minute":4.0})"));

  const auto collectors = run_recipe("mosquitto_sub-collectors");
  ASSERT_EQ(collectors.exit_code, 0) << collectors.output;
  EXPECT_THAT(collectors.output,
              ::testing::StartsWith("st/v1/collectors/status/c1 {\"state\":\"online\""));
}

TEST_F(DocExamplesIT, NodeRedFlowReadsFieldsOfRealLiveValues) {
  start_and_commit();
  const auto flow = json::parse(example("node-red-flow"));
  const auto live = m_probe->wait_for(k_live_topic, "\"t\":\"2030-01-01T00:00:30.000Z\"");
  ASSERT_TRUE(live);
  const auto payload = json::parse(live->payload);
  std::map<std::string, json> nodes;
  for (const auto& node : flow) nodes[node["id"]] = node;
  const auto& in = nodes.at("st_live_in");
  EXPECT_EQ(in["datatype"], "json");
  EXPECT_TRUE(matches(replace_all(in["topic"], "streamtrack/v1", "st/v1"), k_live_topic));
  EXPECT_EQ(nodes.at(in["broker"].get<std::string>())["type"], "mqtt-broker");
  // Every wire leads to a node of the flow.
  for (const auto& [id, node] : nodes) {
    for (const auto& output : node.value("wires", json::array())) {
      for (const auto& target : output) EXPECT_TRUE(nodes.count(target)) << id << " -> " << target;
    }
  }
  EXPECT_EQ(nodes.at("st_only_live")["property"], "payload.live");
  EXPECT_TRUE(payload["live"].is_boolean());
  const std::string expression = nodes.at("st_format")["rules"][0]["to"];
  for (const std::string field : {"channel", "viewers"}) {
    EXPECT_THAT(expression, HasSubstr("payload." + field));
    EXPECT_TRUE(payload.contains(field)) << field;
  }
}

TEST_F(DocExamplesIT, PrometheusScrapesTheCollectorWithTheDocumentedConfig) {
  const auto metrics_port = free_port();
  CollectorOptions o;
  o.http_listen = "127.0.0.1:" + std::to_string(metrics_port);
  start_and_commit(o);
  TempDir dir("prometheus-doc");
  write_file(dir / "documented.yml", example("prometheus"));
  const auto check =
      run_command({"promtool", "check", "config", (dir / "documented.yml").string()});
  ASSERT_EQ(check.exit_code, 0) << check.output;

  // The documented file, pointed at this test's collector and scraping every second.
  write_file(dir / "prometheus.yml", "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n" +
                                         replace_all(example("prometheus"), "127.0.0.1:9465",
                                                     "127.0.0.1:" + std::to_string(metrics_port)));
  const auto web_port = free_port();
  Process::Options p;
  p.argv = {"/usr/bin/prometheus", "--config.file=" + (dir / "prometheus.yml").string(),
            "--storage.tsdb.path=" + (dir / "data").string(),
            "--web.listen-address=127.0.0.1:" + std::to_string(web_port)};
  p.log_file = dir / "prometheus.log";
  Process prometheus(p);
  const std::string api = "http://127.0.0.1:" + std::to_string(web_port) + "/api/v1/";
  std::string body;
  EXPECT_TRUE(wait_until([&] {
    const auto reply = http_request(api +
                                    "query?query=streamtrack_collector_ingest_rows_total%7Bjob%3D%"
                                    "22streamtrack-collector%22%7D");
    body = reply.body;
    const auto j = json::parse(body, nullptr, false);
    return reply.status == 200 && !j.is_discarded() && !j["data"]["result"].empty() &&
           j["data"]["result"][0]["value"][1] == "2";
  })) << body
      << "\n"
      << prometheus.output();
}

// Grafana's PostgreSQL macros, expanded as Grafana does for a fixed time range.
std::string expand_grafana_macros(std::string sql, const std::string& from, const std::string& to) {
  sql = std::regex_replace(sql, std::regex(R"(\$__timeGroupAlias\(([^,]+), '1m'\))"),
                           "floor(extract(epoch from $1)/60)*60 AS \"time\"");
  sql = std::regex_replace(sql, std::regex(R"(\$__timeFilter\(([^)]+)\))"),
                           "$1 BETWEEN '" + from + "' AND '" + to + "'");
  sql = replace_all(sql, "$__timeFrom()", "'" + from + "'");
  sql = replace_all(sql, "$__timeTo()", "'" + to + "'");
  return sql;
}

TEST_F(DocExamplesIT, GrafanaQueriesRunAsTheReadOnlyRole) {
  start_and_commit();
  publish(*m_probe, make_sample("rig", 3, "2030-01-01T00:01:10Z", "live/main"));
  publish(*m_probe, make_sample("rig", 4, "2030-01-01T00:00:10Z", "other"));
  expect_count("SELECT count(*) FROM livestream_metrics", 4);
  const std::string from = "2030-01-01T00:00:00Z";
  const std::string to = "2030-01-01T01:00:00Z";

  const auto viewers =
      pg_query(m_reader, expand_grafana_macros(example("grafana-viewers"), from, to));
  // (time, metric, viewers): minute 0 of live/main (max of 1 and 2), minute 1, and other.
  ASSERT_EQ(viewers.size(), 3u);
  EXPECT_EQ(viewers[0][1] == "live/main" ? viewers[0][2] : viewers[1][2], "2");
  EXPECT_EQ(viewers[2][1], "live/main");
  EXPECT_EQ(viewers[2][2], "3");

  const auto sessions =
      pg_query(m_reader, expand_grafana_macros(example("grafana-sessions"), from, to));
  ASSERT_EQ(sessions.size(), 2u);
  for (const auto& row : sessions) EXPECT_EQ(row[0], "nginx_rtmp");
  // Outside the range: nothing.
  EXPECT_TRUE(
      pg_query(m_reader, expand_grafana_macros(example("grafana-viewers"), "2031-01-01T00:00:00Z",
                                               "2031-01-02T00:00:00Z"))
          .empty());
}

}  // namespace
}  // namespace streamtrack::collector::testing
