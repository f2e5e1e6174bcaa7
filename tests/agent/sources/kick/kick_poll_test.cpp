// The kick Poll state machine with canned outcomes, no socket: token, 401, 429, batches.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/sources/kick/kick.hpp"
#include "tests/agent/sources/canned.hpp"
#include "tests/agent/sources/drive.hpp"

namespace streamtrack::testing {
namespace {

using agent::sources::kick::KickOptions;
using agent::sources::kick::KickSource;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string k_api = "http://127.0.0.1:1";

std::string token_body(const std::string& token) {
  return R"({"access_token":")" + token + R"(","expires_in":3600,"token_type":"Bearer"})";
}

// One /public/v1/channels answer, every slug live with 5 viewers.
std::string channels_body(const std::vector<std::string>& slugs) {
  std::string data;
  for (const auto& slug : slugs) {
    data += std::string(data.empty() ? "" : ",") + R"({"slug":")" + slug +
            R"(","stream_title":"Hi","category":{"name":"Chess"},)" +
            R"("stream":{"is_live":true,"viewer_count":5,"start_time":"2029-12-31T23:00:00Z"}})";
  }
  return R"({"data":[)" + data + R"(],"message":"OK"})";
}

class KickPoll : public ::testing::Test {
 protected:
  std::unique_ptr<KickSource> source(std::vector<std::string> channels) {
    KickOptions o;
    o.name = "kick";
    o.client_id = "cid";
    o.client_secret = "k-s3cret";
    o.channels = std::move(channels);
    o.api_base_url = k_api;
    o.auth_base_url = "http://127.0.0.1:1/id";
    return std::make_unique<KickSource>(std::move(o), m_clock);
  }

  ManualClock m_clock{*parse_rfc3339("2030-01-01T00:00:00Z")};
};

TEST_F(KickPoll, MintsATokenThenAsksForTheSlugsWithIt) {
  auto kick = source({"Alpha", "beta"});
  const auto poll = run_canned(
      *kick, m_clock,
      {canned_json(200, token_body("tok")), canned_json(200, channels_body({"alpha", "beta"}))});
  ASSERT_TRUE(poll.result) << poll.result.error();
  ASSERT_EQ(poll.requests.size(), 2U);
  EXPECT_EQ(poll.requests[0].method, "POST");
  EXPECT_EQ(poll.requests[0].url, "http://127.0.0.1:1/id/oauth/token");
  EXPECT_EQ(poll.requests[1].url, k_api + "/public/v1/channels?slug=alpha&slug=beta");
  EXPECT_EQ(poll.header(1, "Authorization"), "Bearer tok");
  ASSERT_EQ(poll.result->size(), 2U);
  const auto* alpha = sample_for(*poll.result, "alpha");
  ASSERT_NE(alpha, nullptr);
  EXPECT_EQ(alpha->viewers, 5);
  EXPECT_EQ(alpha->category, "Chess");

  const auto again = run_canned(*kick, m_clock, {canned_json(200, channels_body({"alpha"}))});
  EXPECT_EQ(again.requests.size(), 1U) << "the token is reused";
}

TEST_F(KickPoll, A401MintsOnceAndASecondFailsThePoll) {
  auto kick = source({"alpha"});
  const std::string refused = R"({"message":"Unauthorized"})";
  const auto recovered = run_canned(
      *kick, m_clock,
      {canned_json(200, token_body("stale")), canned_json(401, refused),
       canned_json(200, token_body("fresh")), canned_json(200, channels_body({"alpha"}))});
  ASSERT_TRUE(recovered.result) << recovered.result.error();
  EXPECT_EQ(recovered.header(3, "Authorization"), "Bearer fresh");

  const auto failed = run_canned(*kick, m_clock,
                                 {canned_json(401, refused), canned_json(200, token_body("again")),
                                  canned_json(401, refused)});
  ASSERT_FALSE(failed.result);
  EXPECT_EQ(failed.result.error(), "HTTP 401: Unauthorized");
}

TEST_F(KickPoll, A429BacksOffForRetryAfterWithoutSendingAnything) {
  auto kick = source({"alpha"});
  const auto limited = run_canned(
      *kick, m_clock,
      {canned_json(200, token_body("tok")),
       canned_json(429, R"({"message":"Too Many Requests"})", {{"retry-after", "120"}})});
  ASSERT_FALSE(limited.result);
  EXPECT_EQ(limited.result.error(),
            "HTTP 429: Too Many Requests; backing off until 2030-01-01T00:02:00.000Z");

  m_clock.advance(std::chrono::seconds{119});
  const auto held = run_canned(*kick, m_clock, {});
  EXPECT_TRUE(held.requests.empty());
  ASSERT_FALSE(held.result);
  EXPECT_EQ(held.result.error(), "backing off after HTTP 429 until 2030-01-01T00:02:00.000Z");

  m_clock.advance(std::chrono::seconds{1});
  const auto resumed = run_canned(*kick, m_clock, {canned_json(200, channels_body({"alpha"}))});
  ASSERT_TRUE(resumed.result) << resumed.result.error();
}

TEST_F(KickPoll, FiftySlugsARequestAndMissingSlugsAreLeftOut) {
  std::vector<std::string> slugs;
  for (int i = 0; i < 51; ++i) slugs.push_back("s" + std::to_string(100 + i));
  auto kick = source(slugs);
  const auto poll = run_canned(
      *kick, m_clock,
      {canned_json(200, token_body("tok")), canned_json(200, channels_body({"s100", "s149"})),
       canned_json(200, channels_body({"s150"}))});
  ASSERT_TRUE(poll.result) << poll.result.error();
  ASSERT_EQ(poll.requests.size(), 3U);
  EXPECT_THAT(poll.requests[1].url, HasSubstr("slug=s149"));
  EXPECT_EQ(poll.requests[2].url, k_api + "/public/v1/channels?slug=s150");
  EXPECT_EQ(poll.result->size(), 3U);
}

TEST_F(KickPoll, AMalformedAnswerFailsThePoll) {
  auto kick = source({"alpha"});
  const auto poll = run_canned(
      *kick, m_clock, {canned_json(200, token_body("tok")), canned_json(200, R"({"data":{}})")});
  ASSERT_FALSE(poll.result);
  EXPECT_THAT(poll.result.error(), StartsWith("\"data\": expected an array"));
}

}  // namespace
}  // namespace streamtrack::testing
