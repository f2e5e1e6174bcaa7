// A flood of rejects against the running collector: a frame of 1,000 bad elements is one log
// line (not 1,000), a steady flood of bad messages is at most one line per agent per interval
// with the rest reported as suppressed, and /metrics and ingest_rejects still count every one.
#include "common/wire/frame.hpp"
#include "tests/collector/integration/collector_fixture.hpp"
#include "tests/support/alertmanager.hpp"

namespace streamtrack::collector::testing {
namespace {

// The log's interval (RejectLog's default, which the collector uses).
constexpr auto k_interval = std::chrono::seconds{10};

// A sample of `agent` that the codec refuses ("viewers" out of range), distinct per seq.
std::string bad_sample(const std::string& agent, std::int64_t seq) {
  auto text = wire::encode_sample(make_sample(agent, seq, "2030-01-01T00:00:00.000Z", "cam"));
  const auto at = text.find("\"viewers\":");
  const auto end = text.find_first_of(",}", at);
  return text.replace(at, end - at, "\"viewers\":-" + std::to_string(seq));
}

// Lines of `output` that contain `needle`.
std::vector<std::string> lines_with(const std::string& output, const std::string& needle) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < output.size()) {
    auto end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    const auto line = output.substr(start, end - start);
    if (line.find(needle) != std::string::npos) lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

std::string metric_line(const std::string& metrics, const std::string& name) {
  const auto lines = lines_with(metrics, name + " ");
  return lines.empty() ? "" : lines.front();
}

// The rejects of `agent` the log lines of `output` account for: count= of each "rejected" line,
// suppressed= of every line.
std::int64_t reported(const std::string& output, const std::string& agent) {
  std::int64_t total = 0;
  for (const auto& line : lines_with(output, "ingest: rejected agent=" + agent + " ")) {
    total += std::stoll(line.substr(line.find(" count=") + 7));
  }
  for (const auto& line : lines_with(output, " agent=" + agent + " ")) {
    if (const auto held = line.find(" suppressed="); held != std::string::npos) {
      total += std::stoll(line.substr(held + 12));
    }
  }
  return total;
}

class RejectFloodIT : public CollectorTest {
 protected:
  std::uint16_t m_port = free_port();
  CollectorOptions options() const {
    CollectorOptions o;
    o.http_listen = "127.0.0.1:" + std::to_string(m_port);
    return o;
  }
  std::string rejects_metric() const {
    return metric_line(http_get(m_port, "/metrics").second,
                       "streamtrack_collector_ingest_rejects_total{reason=\"decode\"}");
  }
};

TEST_F(RejectFloodIT, AFrameOfAThousandBadElementsIsOneLogLineAndAThousandRejects) {
  auto collector = start_collector(options());
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"});
  std::string frame = R"({"frame":1,"agent":"rig","samples":[)";
  for (int seq = 1; seq <= 1000; ++seq) {
    if (seq > 1) frame += ",";
    frame += bad_sample("rig", seq);
  }
  frame += "]}";
  ASSERT_LE(frame.size(), wire::k_max_frame_bytes);
  probe.publish(k_topics.frames("rig"), frame);

  expect_count("SELECT count(*) FROM ingest_rejects", 1000);
  EXPECT_EQ(count("SELECT count(DISTINCT reason) FROM ingest_rejects"), 1000);
  ASSERT_TRUE(wait_until([&] {
    return rejects_metric() == "streamtrack_collector_ingest_rejects_total{reason=\"decode\"} 1000";
  })) << rejects_metric();
  const auto lines = lines_with(collector->output(), "ingest: rejected");
  ASSERT_EQ(lines.size(), 1u) << collector->output().substr(0, 4000);
  EXPECT_NE(lines.front().find("ingest: rejected agent=rig count=1000 topic=st/v1/rig/frames "),
            std::string::npos)
      << lines.front();
  EXPECT_NE(lines.front().find(
                "reason=\"field \\\"viewers\\\": out of range: -1 (expected 0..2147483647)\""),
            std::string::npos)
      << lines.front();
  EXPECT_EQ(collector->stop(), 0);
}

TEST_F(RejectFloodIT, ASteadyFloodIsOneLinePerAgentPerIntervalAndTheRestIsReportedSuppressed) {
  auto collector = start_collector(options());
  MqttProbe probe(m_broker.url(), {"st/v1/+/ack"});
  const auto started = std::chrono::steady_clock::now();
  // Two agents, 400 bad messages each, interleaved, as fast as the broker takes them (Mosquitto
  // queues at most 1,000 messages for a subscriber by default).
  constexpr int k_messages = 400;
  for (int seq = 1; seq <= k_messages; ++seq) {
    for (const std::string agent : {"rig", "cam"}) {
      probe.publish(k_topics.metrics(agent, "nginx_rtmp", "cam"), bad_sample(agent, seq));
    }
    if (seq % 100 == 0)
      expect_count("SELECT count(*) FROM ingest_rejects", 2 * static_cast<std::int64_t>(seq));
  }
  ASSERT_TRUE(wait_until([&] {
    return rejects_metric() == "streamtrack_collector_ingest_rejects_total{reason=\"decode\"} 800";
  })) << rejects_metric();
  // The rejects held back are reported once the interval ends: every reject of an agent is in
  // exactly one of its lines, so their counts add up to all of them.
  ASSERT_TRUE(wait_until([&] {
    const auto output = collector->output();
    return reported(output, "rig") == k_messages && reported(output, "cam") == k_messages;
  })) << collector->output().substr(0, 4000);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  const auto intervals = static_cast<std::size_t>(elapsed / k_interval) + 1;
  const auto output = collector->output();
  for (const std::string agent : {"rig", "cam"}) {
    const auto rejected = lines_with(output, "ingest: rejected agent=" + agent + " ");
    const auto suppressed = lines_with(output, "ingest: rejects suppressed agent=" + agent + " ");
    ASSERT_FALSE(rejected.empty()) << agent;
    EXPECT_NE(rejected.front().find(" count=1 "), std::string::npos) << rejected.front();
    EXPECT_FALSE(suppressed.empty()) << agent;
    // At most one line of the agent per interval (plus the first), not one per message.
    EXPECT_LE(rejected.size() + suppressed.size(), intervals + 1) << output.substr(0, 4000);
  }
  EXPECT_EQ(collector->stop(), 0);
}

}  // namespace
}  // namespace streamtrack::collector::testing
