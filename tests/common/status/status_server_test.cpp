#include "common/status/status_server.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "common/util/time.hpp"
#include "common/version.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/http_client.hpp"

namespace streamtrack::status {
namespace {

using streamtrack::testing::http_request;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

std::string base(const StatusServer& server) {
  return "http://127.0.0.1:" + std::to_string(server.port());
}

TEST(StatusServer, ServesMetricsInPrometheusTextFormat) {
  AgentMetrics metrics;
  metrics.count_published(5);
  StatusServer server({"127.0.0.1:0", {}}, metrics);
  ASSERT_NE(server.port(), 0);
  const auto reply = http_request(base(server) + "/metrics");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(reply.body, HasSubstr("streamtrack_agent_published_total 5\n"));
  metrics.count_published(1);
  EXPECT_THAT(http_request(base(server) + "/metrics").body,
              HasSubstr("streamtrack_agent_published_total 6\n"));
}

TEST(StatusServer, HealthzAnswersStatusTimestampAndVersion) {
  CollectorMetrics metrics;
  StatusServer server({"127.0.0.1:0", {}}, metrics);
  const auto reply = http_request(base(server) + "/healthz");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.content_type, "application/json");
  const auto json = nlohmann::json::parse(reply.body);
  EXPECT_EQ(json.at("status"), "healthy");  // the seed's shape; /readyz keeps "ok" | "fail"
  EXPECT_EQ(json.at("version"), k_version);
  EXPECT_EQ(json.at("daemon"), "streamtrack-collector");
  const auto stamp = parse_rfc3339(json.at("timestamp").get<std::string>());
  ASSERT_TRUE(stamp) << json.dump();
  const auto skew = std::chrono::abs(std::chrono::system_clock::now() - *stamp);
  EXPECT_LT(skew, 60s);
}

TEST(StatusServer, ReadyzIs503NamingTheFailingChecks) {
  AgentMetrics metrics;
  StatusServer server({"127.0.0.1:0", {}}, metrics);
  // No checks yet: ready.
  EXPECT_EQ(http_request(base(server) + "/readyz").status, 200);

  std::atomic<bool> broker{false};
  server.add_check("broker", [&] {
    return CheckResult{broker.load(), broker ? "connected" : "not connected"};
  });
  server.add_check("outbox", [] { return CheckResult{true, "open"}; });
  auto reply = http_request(base(server) + "/readyz");
  EXPECT_EQ(reply.status, 503);
  auto json = nlohmann::json::parse(reply.body);
  EXPECT_EQ(json.at("status"), "fail");
  EXPECT_EQ(json.at("version"), k_version);
  EXPECT_TRUE(json.contains("timestamp"));
  EXPECT_EQ(json.at("failing"), nlohmann::json::array({"broker"}));
  EXPECT_EQ(json.at("checks").at("broker").at("ok"), false);
  EXPECT_EQ(json.at("checks").at("broker").at("detail"), "not connected");
  EXPECT_EQ(json.at("checks").at("outbox").at("ok"), true);

  broker = true;
  reply = http_request(base(server) + "/readyz");
  EXPECT_EQ(reply.status, 200);
  json = nlohmann::json::parse(reply.body);
  EXPECT_EQ(json.at("status"), "ok");
  EXPECT_FALSE(json.contains("failing"));
  EXPECT_EQ(json.at("checks").at("broker").at("detail"), "connected");
}

TEST(StatusServer, ACheckThatThrowsFailsReadinessWithoutHurtingTheServer) {
  AgentMetrics metrics;
  StatusServer server({"127.0.0.1:0", {}}, metrics);
  server.add_check("database", []() -> CheckResult { throw std::runtime_error("boom"); });
  const auto reply = http_request(base(server) + "/readyz");
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(nlohmann::json::parse(reply.body).at("checks").at("database").at("detail"),
            "check threw: boom");
  EXPECT_EQ(http_request(base(server) + "/healthz").status, 200);
}

TEST(StatusServer, MaxAgeCheckFollowsTheLastSuccessfulPoll) {
  AgentMetrics metrics;
  StatusServer server({"127.0.0.1:0", {}}, metrics);
  server.add_check("poll", max_age_check([&] { return metrics.last_successful_poll_age(); }, 300s));
  auto reply = http_request(base(server) + "/readyz");
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(nlohmann::json::parse(reply.body).at("checks").at("poll").at("detail"), "none yet");
  metrics.poll_finished("rig", "srs", Outcome::ok, 0.01s, 1);
  reply = http_request(base(server) + "/readyz");
  EXPECT_EQ(reply.status, 200);
  EXPECT_THAT(
      nlohmann::json::parse(reply.body).at("checks").at("poll").at("detail").get<std::string>(),
      StartsWith("age "));

  const auto stale = max_age_check([] { return std::optional<Seconds>(Seconds(301)); }, 300s)();
  EXPECT_FALSE(stale.ok);
  EXPECT_EQ(stale.detail, "age 301.0s, limit 300.0s");
}

TEST(StatusServer, UnknownPathsAndMethodsAreRefused) {
  AgentMetrics metrics;
  StatusServer server({"127.0.0.1:0", {}}, metrics);
  EXPECT_EQ(http_request(base(server) + "/").status, 404);
  EXPECT_EQ(http_request(base(server) + "/metrics/x").status, 404);
  EXPECT_EQ(http_request(base(server) + "/metrics", "POST").status, 405);
  const auto head = http_request(base(server) + "/healthz", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  // A query string does not change the route.
  EXPECT_EQ(http_request(base(server) + "/healthz?verbose=1").status, 200);
}

TEST(StatusServer, BadListenAddressesThrowClearErrors) {
  AgentMetrics metrics;
  try {
    StatusServer server({"localhost:9464", {}}, metrics);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(
        e.what(),
        R"([http] listen: expected an IP address (not a host name) like "127.0.0.1:9464", got "localhost:9464")");
  }
  StatusServer first({"127.0.0.1:0", {}}, metrics);
  const std::string taken = "127.0.0.1:" + std::to_string(first.port());
  try {
    StatusServer second({taken, {}}, metrics);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), StartsWith("[http] listen: cannot serve on " + taken + ": "));
  }
  // The first server is unharmed.
  EXPECT_EQ(http_request(base(first) + "/healthz").status, 200);
}

TEST(StatusServer, EmptyListenMeansNoServer) {
  AgentMetrics metrics;
  EXPECT_EQ(start_status_server("", metrics), nullptr);
  auto server = start_status_server("127.0.0.1:0", metrics);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(http_request(base(*server) + "/healthz").status, 200);
}

TEST(StatusServer, StopsServingWhenDestroyed) {
  AgentMetrics metrics;
  std::uint16_t port = 0;
  {
    StatusServer server({"127.0.0.1:0", {}}, metrics);
    port = server.port();
    EXPECT_TRUE(streamtrack::testing::port_accepts(port));
  }
  EXPECT_FALSE(streamtrack::testing::port_accepts(port));
}

}  // namespace
}  // namespace streamtrack::status
