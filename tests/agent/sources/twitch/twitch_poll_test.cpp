// The twitch Poll state machine with canned outcomes, no socket: token, 401, 429, paging.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/sources/twitch/twitch.hpp"
#include "tests/agent/sources/canned.hpp"
#include "tests/agent/sources/drive.hpp"

namespace streamtrack::testing {
namespace {

using agent::sources::twitch::TwitchOptions;
using agent::sources::twitch::TwitchSource;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr const char* k_secret = "tw-s3cret";
const std::string k_api = "http://127.0.0.1:1/helix";

std::string token_body(const std::string& token) {
  return R"({"access_token":")" + token + R"(","expires_in":3600,"token_type":"bearer"})";
}

// One /streams page: a live entry per login, and a cursor when `cursor` is not empty.
std::string streams_body(const std::vector<std::string>& logins, const std::string& cursor = {}) {
  std::string data;
  for (const auto& login : logins) {
    data += std::string(data.empty() ? "" : ",") + R"({"id":"7","user_login":")" + login +
            R"(","viewer_count":12,"title":"Hello","game_name":"Chess",)" +
            R"("started_at":"2029-12-31T23:00:00Z"})";
  }
  const auto pagination = cursor.empty() ? std::string("{}") : R"({"cursor":")" + cursor + "\"}";
  return R"({"data":[)" + data + R"(],"pagination":)" + pagination + "}";
}

class TwitchPoll : public ::testing::Test {
 protected:
  std::unique_ptr<TwitchSource> source(std::vector<std::string> channels) {
    TwitchOptions o;
    o.name = "tw";
    o.client_id = "cid";
    o.client_secret = k_secret;
    o.channels = std::move(channels);
    o.api_base_url = k_api;
    o.auth_base_url = "http://127.0.0.1:1/oauth2";
    return std::make_unique<TwitchSource>(std::move(o), m_clock);
  }

  ManualClock m_clock{*parse_rfc3339("2030-01-01T00:00:00Z")};
};

TEST_F(TwitchPoll, MintsATokenThenAsksForEveryLoginWithItAndReusesIt) {
  auto tw = source({"Alpha", "beta"});
  const auto first = run_canned(
      *tw, m_clock,
      {canned_json(200, token_body("tok-1")), canned_json(200, streams_body({"alpha"}))});
  ASSERT_TRUE(first.result) << first.result.error();
  ASSERT_EQ(first.requests.size(), 2U);
  EXPECT_EQ(first.requests[0].method, "POST");
  EXPECT_EQ(first.requests[0].url, "http://127.0.0.1:1/oauth2/token");
  EXPECT_THAT(first.requests[0].body, HasSubstr("grant_type=client_credentials"));
  EXPECT_EQ(first.requests[1].url, k_api + "/streams?user_login=alpha&user_login=beta&first=100");
  EXPECT_EQ(first.header(1, "Authorization"), "Bearer tok-1");
  EXPECT_EQ(first.header(1, "Client-Id"), "cid");
  const auto* alpha = sample_for(*first.result, "alpha");
  ASSERT_NE(alpha, nullptr);
  EXPECT_TRUE(alpha->live);
  EXPECT_EQ(alpha->viewers, 12);
  EXPECT_EQ(alpha->category, "Chess");
  const auto* beta = sample_for(*first.result, "beta");
  ASSERT_NE(beta, nullptr);
  EXPECT_FALSE(beta->live);

  // The token is reused until a minute before it expires, then minted again.
  m_clock.advance(std::chrono::seconds{3000});
  const auto second = run_canned(*tw, m_clock, {canned_json(200, streams_body({}))});
  ASSERT_EQ(second.requests.size(), 1U);
  EXPECT_EQ(second.header(0, "Authorization"), "Bearer tok-1");
  m_clock.advance(std::chrono::seconds{600});
  const auto third = run_canned(
      *tw, m_clock, {canned_json(200, token_body("tok-2")), canned_json(200, streams_body({}))});
  ASSERT_EQ(third.requests.size(), 2U);
  EXPECT_EQ(third.header(1, "Authorization"), "Bearer tok-2");
}

TEST_F(TwitchPoll, A401MintsOnceAndRepeatsTheRequest) {
  auto tw = source({"alpha"});
  const auto poll = run_canned(
      *tw, m_clock,
      {canned_json(200, token_body("stale")),
       canned_json(401, R"({"error":"Unauthorized","status":401,"message":"Invalid token"})"),
       canned_json(200, token_body("fresh")), canned_json(200, streams_body({"alpha"}))});
  ASSERT_TRUE(poll.result) << poll.result.error();
  ASSERT_EQ(poll.requests.size(), 4U);
  EXPECT_EQ(poll.requests[2].method, "POST");
  EXPECT_EQ(poll.requests[3].url, poll.requests[1].url);
  EXPECT_EQ(poll.header(3, "Authorization"), "Bearer fresh");
  EXPECT_TRUE(sample_for(*poll.result, "alpha")->live);
}

TEST_F(TwitchPoll, ASecond401FailsThePollWithoutSamples) {
  auto tw = source({"alpha"});
  const std::string refused = R"({"error":"Unauthorized","status":401,"message":"Invalid token"})";
  const auto poll = run_canned(*tw, m_clock,
                               {canned_json(200, token_body("a")), canned_json(401, refused),
                                canned_json(200, token_body("b")), canned_json(401, refused)});
  ASSERT_FALSE(poll.result);
  EXPECT_EQ(poll.result.error(), "HTTP 401: Invalid token");
}

TEST_F(TwitchPoll, A429WaitsForTheBucketToRefillWithoutSendingAnything) {
  auto tw = source({"alpha"});
  const auto reset = std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(m_clock.now().time_since_epoch()).count() +
      30);
  const auto limited = run_canned(
      *tw, m_clock,
      {canned_json(200, token_body("tok")),
       canned_json(429, R"({"error":"Too Many Requests","status":429,"message":"Slow down"})",
                   {{"ratelimit-limit", "800"},
                    {"ratelimit-remaining", "0"},
                    {"ratelimit-reset", reset}})});
  ASSERT_FALSE(limited.result);
  EXPECT_EQ(limited.result.error(), "HTTP 429: Slow down; waiting until 2030-01-01T00:00:30.000Z");

  m_clock.advance(std::chrono::seconds{10});
  const auto held = run_canned(*tw, m_clock, {});
  EXPECT_TRUE(held.requests.empty());
  ASSERT_FALSE(held.result);
  EXPECT_THAT(held.result.error(), StartsWith("rate limit: 0 points left, a poll needs 1"));

  m_clock.advance(std::chrono::seconds{21});
  const auto resumed = run_canned(*tw, m_clock, {canned_json(200, streams_body({"alpha"}))});
  ASSERT_TRUE(resumed.result) << resumed.result.error();
  EXPECT_EQ(resumed.header(0, "Authorization"), "Bearer tok");
}

TEST_F(TwitchPoll, FollowsTheCursorThenAsksForTheNextHundredLogins) {
  std::vector<std::string> logins;
  for (int i = 0; i < 101; ++i) logins.push_back("c" + std::to_string(1000 + i));
  auto tw = source(logins);
  const auto poll = run_canned(
      *tw, m_clock,
      {canned_json(200, token_body("tok")), canned_json(200, streams_body({"c1000"}, "page+2")),
       canned_json(200, streams_body({"c1001"})), canned_json(200, streams_body({"c1100"}))});
  ASSERT_TRUE(poll.result) << poll.result.error();
  ASSERT_EQ(poll.requests.size(), 4U);
  EXPECT_THAT(poll.requests[1].url, Not(HasSubstr("after=")));
  EXPECT_THAT(poll.requests[2].url, HasSubstr("&after=page%2B2"));
  EXPECT_THAT(poll.requests[2].url, HasSubstr("user_login=c1099&"));
  EXPECT_EQ(poll.requests[3].url, k_api + "/streams?user_login=c1100&first=100");
  EXPECT_EQ(poll.result->size(), 101U);
  int live = 0;
  for (const auto& s : *poll.result) live += s.live ? 1 : 0;
  EXPECT_EQ(live, 3);
}

TEST_F(TwitchPoll, TransportAndTokenErrorsFailThePollWithoutTheSecret) {
  auto tw = source({"alpha"});
  const auto timed_out = run_canned(
      *tw, m_clock, {canned_json(200, token_body("tok")), canned_failure("timed out after 10s")});
  ASSERT_FALSE(timed_out.result);
  EXPECT_EQ(timed_out.result.error(), "timed out after 10s");

  auto other = source({"alpha"});
  const auto refused = run_canned(
      *other, m_clock,
      {canned_json(403, std::string(R"({"status":403,"message":"invalid client secret )") +
                            k_secret + "\"}")});
  ASSERT_FALSE(refused.result);
  EXPECT_THAT(refused.result.error(), StartsWith("token request failed: HTTP 403"));
  EXPECT_THAT(refused.result.error(), Not(HasSubstr(k_secret)));
}

}  // namespace
}  // namespace streamtrack::testing
