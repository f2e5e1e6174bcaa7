// The real streamtrack-agent --once against the fixture server, for all three platforms; and
// no token or key anywhere in what it writes.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "common/wire/codec.hpp"
#include "tests/agent/sources/drive.hpp"

namespace streamtrack::testing {
namespace {

constexpr const char* k_twitch_secret = "twitch-secret-41vpdji4e9gif29md0ouet6fktd2";
constexpr const char* k_kick_secret = "kick-secret-0c8f7e6d5b4a";
constexpr const char* k_youtube_key = "AIzaSyYOUTUBEKEYnever-logged";

class Once : public ::testing::Test {
 protected:
  void SetUp() override {
    m_server.route("/oauth2/token", json_fixture("twitch/token.json"));
    m_server.route("/helix/streams", json_fixture("twitch/streams_live.json"));
    m_server.route("/oauth/token", json_fixture("kick/token.json"));
    m_server.route("/public/v1/channels", json_fixture("kick/channels.json"));
    m_server.route("/youtube/v3/search", json_fixture("youtube/search_live.json"));
    m_server.route("/youtube/v3/videos", json_fixture("youtube/videos_live.json"));
    write_file(m_dir / "twitch.secret", std::string(k_twitch_secret) + "\n");
    write_file(m_dir / "kick.secret", k_kick_secret);
    write_file(m_dir / "youtube.key", std::string(k_youtube_key) + "\n");
    write_file(m_dir / "agent.toml", R"([agent]
id = "once-agent"
log_level = "debug"

[[source]]
type = "twitch"
name = "twitch"
interval = "30s"
client_id = "hof5gwx0su6owfnys0yan9c87zr6t"
client_secret_file = ")" + (m_dir / "twitch.secret").string() +
                                         R"("
channels = ["afro", "cohhcarnage", "sleepy"]
api_base_url = ")" + m_server.url("/helix") +
                                         R"("
auth_base_url = ")" + m_server.url("/oauth2") +
                                         R"("

[[source]]
type = "youtube"
name = "youtube"
interval = "60s"
api_key_file = ")" + (m_dir / "youtube.key").string() +
                                         R"("
channels = ["UCUVWoy_rGPdZeUp7jjRHOaQ"]
daily_quota = 10000
api_base_url = ")" + m_server.url("/youtube/v3") +
                                         R"("

[[source]]
type = "kick"
name = "kick"
interval = "30s"
client_id = "01KICKCLIENT"
client_secret_file = ")" + (m_dir / "kick.secret").string() +
                                         R"("
channels = ["examplestreamer", "quietone"]
api_base_url = ")" + m_server.url("/") + R"("
auth_base_url = ")" + m_server.url("/") + R"("
)");
  }

  TempDir m_dir{"streamtrack-once"};
  HttpFixtureServer m_server;
};

TEST_F(Once, PrintsSamplesOfAllThreePlatforms) {
  const auto result = run_command({(bin_dir() / "streamtrack-agent").string(), "--once", "-c",
                                   (m_dir / "agent.toml").string()});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::map<std::string, Sample> samples;
  std::istringstream lines(result.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.front() != '{') continue;
    auto s = wire::decode_sample(line);
    ASSERT_TRUE(s) << s.error() << ": " << line;
    EXPECT_EQ(s->agent, "once-agent");
    samples[s->platform + "/" + s->channel] = *s;
  }
  ASSERT_EQ(samples.size(), 6u) << result.output;
  EXPECT_TRUE(samples["twitch/afro"].live);
  EXPECT_EQ(samples["twitch/afro"].viewers, 1490);
  EXPECT_EQ(samples["twitch/afro"].category, "Grand Theft Auto V");
  EXPECT_EQ(samples["twitch/cohhcarnage"].viewers, 8123);
  EXPECT_FALSE(samples["twitch/sleepy"].live);
  EXPECT_TRUE(samples["youtube/UCUVWoy_rGPdZeUp7jjRHOaQ"].live);
  EXPECT_EQ(samples["youtube/UCUVWoy_rGPdZeUp7jjRHOaQ"].viewers, 1888);
  EXPECT_EQ(samples["youtube/UCUVWoy_rGPdZeUp7jjRHOaQ"].stream_id, "c7_kqMFDE8c");
  EXPECT_TRUE(samples["kick/examplestreamer"].live);
  EXPECT_EQ(samples["kick/examplestreamer"].viewers, 2345);
  EXPECT_FALSE(samples["kick/quietone"].live);
}

TEST_F(Once, SecretsTokensAndKeysNeverAppearInOutput) {
  // Every request fails once: error paths log too.
  m_server.route_sequence("/helix/streams", {json_fixture("twitch/error_401.json", 401),
                                             json_fixture("twitch/streams_live.json")});
  m_server.route("/youtube/v3/search", json_fixture("youtube/quota_exceeded.json", 403));
  m_server.route("/public/v1/channels", json_fixture("kick/error_500.json", 500));
  const auto result = run_command({(bin_dir() / "streamtrack-agent").string(), "--once", "-c",
                                   (m_dir / "agent.toml").string()});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_THAT(result.output, ::testing::HasSubstr("quotaExceeded"));
  EXPECT_THAT(result.output, ::testing::HasSubstr("poll request source=twitch"));
  for (const char* secret :
       {k_twitch_secret, k_kick_secret, k_youtube_key, "jostpf5q0uzmxmkba9iyug38kjtgh",
        "NTK0YJLKZMQWMDKTMWJIZC0ZYZBHLWJIY2UT"}) {
    EXPECT_EQ(result.output.find(secret), std::string::npos) << secret << " in:\n" << result.output;
  }
}

}  // namespace
}  // namespace streamtrack::testing
