// The kick source against a local HTTP server serving Kick public API fixtures.

#include "agent/sources/kick/kick.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/agent/sources/drive.hpp"

namespace streamtrack::testing {
namespace {

using agent::sources::kick::KickOptions;
using agent::sources::kick::KickSource;

constexpr const char* k_token = "NTK0YJLKZMQWMDKTMWJIZC0ZYZBHLWJIY2UT";

class Kick : public ::testing::Test {
 protected:
  void SetUp() override { m_server.route("/oauth/token", json_fixture("kick/token.json")); }
  std::unique_ptr<KickSource> source(std::vector<std::string> channels) {
    KickOptions o;
    o.name = "kick";
    o.client_id = "01KICKCLIENT";
    o.client_secret = "kick-secret-value";
    o.channels = std::move(channels);
    o.api_base_url = m_server.url("/");
    o.auth_base_url = m_server.url("/");
    o.backoff_base = std::chrono::seconds(5);
    return std::make_unique<KickSource>(std::move(o), m_clock);
  }
  std::vector<HttpFixtureServer::Request> requests(const std::string& path) const {
    std::vector<HttpFixtureServer::Request> out;
    for (auto& r : m_server.requests()) {
      if (r.path == path) out.push_back(r);
    }
    return out;
  }
  ManualClock m_clock{*parse_rfc3339("2026-06-20T19:00:00Z")};
  HttpFixtureServer m_server;
};

TEST_F(Kick, LiveAndOfflineChannels) {
  m_server.route("/public/v1/channels", json_fixture("kick/channels.json"));
  auto src = source({"examplestreamer", "quietone"});
  auto result = drive(*src, m_clock);
  ASSERT_TRUE(result) << result.error();
  ASSERT_EQ(result->size(), 2u);
  const auto* live = sample_for(*result, "examplestreamer");
  ASSERT_TRUE(live);
  EXPECT_TRUE(live->live);
  EXPECT_EQ(live->viewers, 2345);
  EXPECT_EQ(live->title, "Ranked grind");
  EXPECT_EQ(live->category, "Just Chatting");
  EXPECT_EQ(live->started_at, parse_rfc3339("2026-06-20T18:02:11Z"));
  const auto* quiet = sample_for(*result, "quietone");
  ASSERT_TRUE(quiet);
  EXPECT_FALSE(quiet->live);
  EXPECT_FALSE(quiet->viewers);
  EXPECT_FALSE(quiet->started_at);  // 0001-01-01 is not a start time
  EXPECT_FALSE(quiet->category);

  const auto token = requests("/oauth/token");
  ASSERT_EQ(token.size(), 1u);
  EXPECT_EQ(token[0].method, "POST");
  EXPECT_EQ(token[0].body,
            "client_id=01KICKCLIENT&client_secret=kick-secret-value&grant_type=client_credentials");
  const auto channels = requests("/public/v1/channels");
  ASSERT_EQ(channels.size(), 1u);
  EXPECT_EQ(channels[0].headers.at("authorization"), std::string("Bearer ") + k_token);
  EXPECT_EQ(query_values(channels[0].query, "slug"),
            (std::vector<std::string>{"examplestreamer", "quietone"}));

  // The token is reused.
  ASSERT_TRUE(drive(*src, m_clock));
  EXPECT_EQ(m_server.request_count("/oauth/token"), 1u);
}

TEST_F(Kick, Unauthorized401MintsAgainOnce) {
  m_server.route_sequence("/public/v1/channels", {json_fixture("kick/error_401.json", 401),
                                                  json_fixture("kick/channels.json")});
  auto src = source({"examplestreamer"});
  auto result = drive(*src, m_clock);
  ASSERT_TRUE(result) << result.error();
  EXPECT_EQ(m_server.request_count("/oauth/token"), 2u);
  EXPECT_EQ(m_server.request_count("/public/v1/channels"), 2u);
}

TEST_F(Kick, TooManyRequestsBacksOff) {
  HttpFixtureServer::Response limited;
  limited.status = 429;
  limited.body = R"({"data":null,"message":"Too Many Requests"})";
  limited.headers = {{"Retry-After", "20"}};
  m_server.route("/public/v1/channels", limited);
  auto src = source({"examplestreamer"});
  auto first = drive(*src, m_clock);
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error(),
            "HTTP 429: Too Many Requests; backing off until 2026-06-20T19:00:20.000Z");
  m_clock.advance(std::chrono::seconds(10));
  auto second = drive(*src, m_clock);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error(), "backing off after HTTP 429 until 2026-06-20T19:00:20.000Z");
  EXPECT_EQ(m_server.request_count("/public/v1/channels"), 1u);
  m_clock.advance(std::chrono::seconds(11));
  m_server.route("/public/v1/channels", json_fixture("kick/channels.json"));
  auto third = drive(*src, m_clock);
  ASSERT_TRUE(third) << third.error();
  EXPECT_EQ(m_server.request_count("/public/v1/channels"), 2u);
}

// Found by review while writing fuzz/kick: a Retry-After of more seconds than milliseconds fit
// in 64 bits overflowed (undefined behaviour; in practice a negative delay, so no back-off).
// A Retry-After longer than backoff_cap (default 5 min) is cut to it.
TEST_F(Kick, HugeRetryAfterIsCutToTheBackoffCap) {
  HttpFixtureServer::Response limited;
  limited.status = 429;
  limited.body = R"({"data":null,"message":"Too Many Requests"})";
  limited.headers = {{"Retry-After", "9223372036854775807"}};
  m_server.route("/public/v1/channels", limited);
  auto src = source({"examplestreamer"});
  auto first = drive(*src, m_clock);
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error(),
            "HTTP 429: Too Many Requests; backing off until 2026-06-20T19:05:00.000Z");
}

TEST_F(Kick, ErrorsAreErrors) {
  m_server.route("/public/v1/channels", json_fixture("kick/error_500.json", 500));
  auto src = source({"examplestreamer"});
  auto result = drive(*src, m_clock);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), "HTTP 500: internal server error");
  m_server.route("/public/v1/channels", json_fixture("kick/malformed.json"));
  auto bad = drive(*src, m_clock);
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error(), ::testing::StartsWith("invalid JSON: "));
}

}  // namespace
}  // namespace streamtrack::testing
