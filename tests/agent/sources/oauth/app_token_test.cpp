// The OAuth client-credentials token shared by the platform sources, and secret redaction.

#include "agent/sources/oauth/app_token.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/sources/oauth/redact.hpp"
#include "tests/agent/sources/canned.hpp"

namespace streamtrack::testing {
namespace {

using agent::sources::oauth::AppToken;
using agent::sources::oauth::redact;
using ::testing::HasSubstr;
using ::testing::Not;

const TimePoint k_now = *parse_rfc3339("2030-01-01T00:00:00Z");

AppToken token() {
  return AppToken("http://127.0.0.1:1/token", "the client", "s3cret&=", std::chrono::seconds{7});
}

TEST(AppToken, MintsWithAFormEncodedPostAndCachesUntilAMinuteBeforeExpiry) {
  auto t = token();
  const auto mint = t.mint_if_needed(k_now, 1234);
  ASSERT_TRUE(mint);
  EXPECT_EQ(mint->method, "POST");
  EXPECT_EQ(mint->url, "http://127.0.0.1:1/token");
  EXPECT_EQ(mint->body,
            "client_id=the%20client&client_secret=s3cret%26%3D"
            "&grant_type=client_credentials");
  EXPECT_EQ(mint->max_body_bytes, 1234U);
  EXPECT_EQ(mint->timeout, std::chrono::seconds{7});
  ASSERT_EQ(t.accept(canned_json(200, R"({"access_token":"tok","expires_in":3600})"), k_now),
            std::nullopt);
  EXPECT_EQ(t.mints(), 1);
  EXPECT_EQ(t.current(k_now + std::chrono::seconds{3539}), "tok");
  EXPECT_FALSE(t.mint_if_needed(k_now + std::chrono::seconds{3539}, 1234));
  EXPECT_EQ(t.current(k_now + std::chrono::seconds{3540}), std::nullopt);
  EXPECT_TRUE(t.mint_if_needed(k_now + std::chrono::seconds{3540}, 1234));
}

TEST(AppToken, OnlyTheFirst401OfAPollForgetsTheToken) {
  auto t = token();
  ASSERT_EQ(t.accept(canned_json(200, R"({"access_token":"tok"})"), k_now), std::nullopt);
  agent::http::Response unauthorized;
  unauthorized.status = 401;
  bool reminted = false;
  EXPECT_TRUE(t.remint_after_401(unauthorized, reminted, "src"));
  EXPECT_TRUE(reminted);
  EXPECT_EQ(t.current(k_now), std::nullopt);
  ASSERT_EQ(t.accept(canned_json(200, R"({"access_token":"tok2"})"), k_now), std::nullopt);
  EXPECT_FALSE(t.remint_after_401(unauthorized, reminted, "src"));
  EXPECT_EQ(t.current(k_now), "tok2");
  agent::http::Response ok;
  ok.status = 200;
  bool fresh = false;
  EXPECT_FALSE(t.remint_after_401(ok, fresh, "src"));
}

TEST(AppToken, RefusalsNameTheProblemAndNeverTheSecret) {
  auto t = token();
  const auto refused =
      t.accept(canned_json(403, R"({"status":403,"message":"bad secret s3cret&="})"), k_now);
  ASSERT_TRUE(refused);
  EXPECT_THAT(*refused, HasSubstr("token request failed: HTTP 403"));
  EXPECT_THAT(*refused, Not(HasSubstr("s3cret&=")));
  EXPECT_EQ(t.accept(canned_failure("timed out after 7s"), k_now),
            "token request failed: timed out after 7s");
  EXPECT_EQ(t.accept(canned_json(200, R"({"token":"x"})"), k_now),
            "token request failed: \"access_token\" is missing");
  EXPECT_EQ(t.mints(), 0);
  EXPECT_EQ(t.current(k_now), std::nullopt);
}

TEST(Redact, ReplacesEveryOccurrenceAndLeavesTextWithoutASecretAlone) {
  EXPECT_EQ(redact("a s b s", "s"), "a <redacted> b <redacted>");
  EXPECT_EQ(redact("key=abcabc", "abc"), "key=<redacted><redacted>");
  EXPECT_EQ(redact("nothing here", ""), "nothing here");
}

// Found by review next to the one above: an expires_in too large for a TimePoint overflowed
// (undefined behaviour; in practice a token that expired at once, so every poll minted anew).
TEST(AppToken, ExpiresInBeyondAYearCountsAsAYear) {
  agent::sources::oauth::AppToken token("http://127.0.0.1:1/token", "id", "secret",
                                        std::chrono::seconds{1});
  agent::http::Response r;
  r.status = 200;
  r.content_type = "application/json";
  r.body = R"({"access_token":"t","expires_in":9223372036854775807})";
  const auto now = *parse_rfc3339("2030-01-01T00:00:00Z");
  ASSERT_EQ(token.accept(agent::http::Outcome(r), now), std::nullopt);
  EXPECT_EQ(token.current(now + std::chrono::days{300}), "t");
  EXPECT_EQ(token.current(now + std::chrono::days{366}), std::nullopt);
}

}  // namespace
}  // namespace streamtrack::testing
