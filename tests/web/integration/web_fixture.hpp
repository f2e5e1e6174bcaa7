#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/collector/integration/collector_fixture.hpp"
#include "tests/web/integration/web_client.hpp"

// Real PostgreSQL, Mosquitto and collector (from the collector's fixture), plus the real
// streamtrack-web binary connected as a read-only role. Data enters the way it does in
// production: MQTT → collector → PostgreSQL; the web daemon only reads.
namespace streamtrack::web::testing {

using namespace streamtrack::collector::testing;
using nlohmann::json;

struct WebOptions {
  std::string extra;     // TOML appended (tables [api], [live], [auth], ...)
  std::string postgres;  // more keys of [postgres] (after dsn)
};

class WebTest : public CollectorTest {
 protected:
  void SetUp() override;

  // The collector with a fast analytics refresh, waited for until it applied migrations.
  std::unique_ptr<Process> start_stack_collector(const std::string& extra = "");
  std::unique_ptr<Process> start_web(const WebOptions& o = {});
  // Starts the daemon on a config file written by the test; sets m_web_port.
  std::unique_ptr<Process> start_web_with(const std::filesystem::path& config);
  std::filesystem::path write_web_config(const WebOptions& o, const std::string& name);

  std::string readonly_dsn() const;
  HttpReply get(const std::string& target, const std::map<std::string, std::string>& h = {}) const {
    return http_get(m_web_port, target, h);
  }
  json get_json(const std::string& target, int expected_status = 200) const;
  // Publishes through the broker and waits until the collector committed `expected_rows`
  // rows in livestream_metrics.
  void publish_and_wait(MqttProbe& probe, const std::vector<Sample>& samples,
                        std::int64_t expected_rows);

  std::uint16_t m_web_port = 0;
  TempDir m_ui{"streamtrack-web-ui"};
};

Sample sample_at(const std::string& agent, std::int64_t seq, TimePoint ts,
                 const std::string& channel, std::int64_t viewers, bool live = true);

}  // namespace streamtrack::web::testing
