// The youtube source against a local HTTP server serving Data API v3 fixtures.

#include "agent/sources/youtube/youtube.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/agent/sources/drive.hpp"

namespace streamtrack::testing {
namespace {

using agent::sources::youtube::YoutubeOptions;
using agent::sources::youtube::YoutubeSource;
using ::testing::HasSubstr;

constexpr const char* k_key = "AIzaSyTESTKEY-never-logged";
constexpr const char* k_live_channel = "UCUVWoy_rGPdZeUp7jjRHOaQ";
constexpr const char* k_quiet_channel = "UCGymsagsg1lUxDb2qxjK6Lg";

class Youtube : public ::testing::Test {
 protected:
  std::unique_ptr<YoutubeSource> source(std::vector<std::string> channels, std::int64_t quota,
                                        std::int64_t search_cost = 100) {
    YoutubeOptions o;
    o.name = "yt";
    o.api_key = k_key;
    o.channels = std::move(channels);
    o.api_base_url = m_server.url("/youtube/v3");
    o.daily_quota = quota;
    o.search_cost = search_cost;
    o.interval = std::chrono::seconds(30);
    return std::make_unique<YoutubeSource>(std::move(o), m_clock);
  }
  // Search answers per channel id, from the query.
  void route_search_live_then_offline() {
    m_server.route_sequence("/youtube/v3/search", {json_fixture("youtube/search_live.json"),
                                                   json_fixture("youtube/search_offline.json")});
  }
  std::vector<HttpFixtureServer::Request> requests(const std::string& path) const {
    std::vector<HttpFixtureServer::Request> out;
    for (auto& r : m_server.requests()) {
      if (r.path == path) out.push_back(r);
    }
    return out;
  }

  // Midnight PDT: the quota day starts.
  ManualClock m_clock{*parse_rfc3339("2026-07-01T07:00:00Z")};
  HttpFixtureServer m_server;
};

TEST_F(Youtube, SearchFindsLiveVideoThenVideosListGivesViewers) {
  route_search_live_then_offline();
  m_server.route("/youtube/v3/videos", json_fixture("youtube/videos_live.json"));
  auto src = source({k_live_channel, k_quiet_channel}, 1'000'000);
  auto result = drive(*src, m_clock);
  ASSERT_TRUE(result) << result.error();
  ASSERT_EQ(result->size(), 2u);
  const auto* live = sample_for(*result, k_live_channel);
  ASSERT_TRUE(live);
  EXPECT_TRUE(live->live);
  EXPECT_EQ(live->viewers, 1888);
  EXPECT_EQ(live->stream_id, "c7_kqMFDE8c");
  EXPECT_EQ(live->title, "Live: earthquake monitoring");
  EXPECT_EQ(live->started_at, parse_rfc3339("2024-01-11T00:06:08Z"));
  const auto* quiet = sample_for(*result, k_quiet_channel);
  ASSERT_TRUE(quiet);
  EXPECT_FALSE(quiet->live);

  const auto searches = requests("/youtube/v3/search");
  ASSERT_EQ(searches.size(), 2u);
  EXPECT_EQ(query_values(searches[0].query, "channelId"), std::vector<std::string>{k_live_channel});
  EXPECT_EQ(query_values(searches[0].query, "eventType"), std::vector<std::string>{"live"});
  EXPECT_EQ(query_values(searches[0].query, "type"), std::vector<std::string>{"video"});
  const auto videos = requests("/youtube/v3/videos");
  ASSERT_EQ(videos.size(), 1u);
  EXPECT_EQ(query_values(videos[0].query, "id"), std::vector<std::string>{"c7_kqMFDE8c"});
  EXPECT_EQ(query_values(videos[0].query, "part"),
            std::vector<std::string>{"liveStreamingDetails,snippet"});
  for (const auto& r : m_server.requests()) {
    EXPECT_EQ(r.headers.at("x-goog-api-key"), k_key);
    EXPECT_THAT(r.query, ::testing::Not(HasSubstr(k_key)));
  }
  EXPECT_EQ(src->units_spent(), 2 * 100 + 1);

  // Next poll: the live video is polled again (1 unit), no new search for either channel.
  m_clock.advance(std::chrono::seconds(30));
  auto again = drive(*src, m_clock);
  ASSERT_TRUE(again) << again.error();
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ(again->front().channel, k_live_channel);
  EXPECT_EQ(m_server.request_count("/youtube/v3/search"), 2u);
  EXPECT_EQ(m_server.request_count("/youtube/v3/videos"), 2u);
  EXPECT_EQ(src->units_spent(), 2 * 100 + 2);
}

TEST_F(Youtube, EndedVideoMakesTheChannelOffline) {
  m_server.route("/youtube/v3/search", json_fixture("youtube/search_live.json"));
  m_server.route("/youtube/v3/videos", json_fixture("youtube/videos_ended.json"));
  auto src = source({k_live_channel}, 1'000'000);
  auto result = drive(*src, m_clock);
  ASSERT_TRUE(result) << result.error();
  ASSERT_EQ(result->size(), 1u);
  EXPECT_FALSE(result->front().live);
  EXPECT_FALSE(result->front().viewers);
}

TEST_F(Youtube, SixtyLiveVideosTakeTwoVideosCalls) {
  std::vector<std::string> channels;
  for (int i = 0; i < 60; ++i) channels.push_back("UCchannel" + std::to_string(i));
  m_server.route("/youtube/v3/search", json_fixture("youtube/search_live.json"));
  m_server.route("/youtube/v3/videos", json_fixture("youtube/videos_empty.json"));
  auto src = source(channels, 1'000'000, 1);
  auto result = drive(*src, m_clock);
  ASSERT_TRUE(result) << result.error();
  const auto videos = requests("/youtube/v3/videos");
  ASSERT_EQ(videos.size(), 2u);
  EXPECT_EQ(query_values(videos[0].query, "id")[0].size(), 50 * 11 + 49 * 3);  // "%2C" joins
  EXPECT_EQ(src->units_spent(), 60 + 2);
}

TEST_F(Youtube, QuotaPlannerDegradesThePollRate) {
  // 10,000 units: a search (100) fits the initial burst, the next ones have to wait.
  m_server.route("/youtube/v3/search", json_fixture("youtube/search_offline.json"));
  auto src = source({k_live_channel, k_quiet_channel}, 10'000);
  auto first = drive(*src, m_clock);
  ASSERT_TRUE(first) << first.error();
  EXPECT_EQ(first->size(), 1u);
  EXPECT_EQ(m_server.request_count("/youtube/v3/search"), 1u);
  m_clock.advance(std::chrono::seconds(30));
  auto second = drive(*src, m_clock);
  ASSERT_TRUE(second) << second.error();
  EXPECT_TRUE(second->empty());  // deferred: no request, no made-up sample
  EXPECT_EQ(m_server.request_count("/youtube/v3/search"), 1u);
  // 100 units accrue in 86400 s / 100 = 14.4 min.
  m_clock.advance(std::chrono::minutes(15));
  auto third = drive(*src, m_clock);
  ASSERT_TRUE(third) << third.error();
  EXPECT_EQ(third->size(), 1u);
  EXPECT_EQ(third->front().channel, k_quiet_channel);
  EXPECT_EQ(src->units_spent(), 200);
  EXPECT_EQ(src->search_period(), std::chrono::milliseconds(86'400'000LL * 2 * 100 / 5000));
}

TEST_F(Youtube, QuotaExceededStopsUntilMidnightPacific) {
  m_server.route("/youtube/v3/search", json_fixture("youtube/quota_exceeded.json", 403));
  auto src = source({k_live_channel}, 1'000'000);
  auto first = drive(*src, m_clock);
  ASSERT_FALSE(first);
  EXPECT_THAT(first.error(), ::testing::StartsWith("HTTP 403: quotaExceeded: The request cannot"));
  EXPECT_THAT(first.error(), HasSubstr("; paused until 2026-07-02T07:00:00.000Z"));
  m_clock.advance(std::chrono::hours(1));
  auto second = drive(*src, m_clock);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error(),
            "daily quota exhausted (quotaExceeded); paused until 2026-07-02T07:00:00.000Z");
  EXPECT_EQ(m_server.request_count("/youtube/v3/search"), 1u);
  EXPECT_EQ(src->units_spent(), 100);  // the refused call is counted too

  m_clock.set(*parse_rfc3339("2026-07-02T07:00:01Z"));
  m_server.route("/youtube/v3/search", json_fixture("youtube/search_offline.json"));
  auto after_reset = drive(*src, m_clock);
  ASSERT_TRUE(after_reset) << after_reset.error();
  EXPECT_EQ(m_server.request_count("/youtube/v3/search"), 2u);
  EXPECT_EQ(src->units_spent_today(), 100);
}

TEST_F(Youtube, ServerErrorAndMalformedBodyAreErrors) {
  m_server.route("/youtube/v3/search", json_fixture("youtube/error_503.json", 503));
  auto src = source({k_live_channel}, 1'000'000);
  auto result = drive(*src, m_clock);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), "HTTP 503: backendError: The service is currently unavailable.");

  m_server.route("/youtube/v3/search", json_fixture("youtube/search_live.json"));
  m_server.route("/youtube/v3/videos", json_fixture("youtube/malformed.json"));
  auto src2 = source({k_live_channel}, 1'000'000);
  auto bad = drive(*src2, m_clock);
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error(), ::testing::StartsWith("invalid JSON: "));
}

TEST(YoutubeParse, HiddenViewerCountIsUnknownNotZero) {
  auto videos = agent::sources::youtube::parse_videos(
      R"({"items":[{"id":"v1","snippet":{"liveBroadcastContent":"live"},"liveStreamingDetails":{"actualStartTime":"2024-01-11T00:06:08Z"}}]})");
  ASSERT_TRUE(videos) << videos.error();
  ASSERT_EQ(videos->size(), 1u);
  EXPECT_TRUE(videos->front().live);
  EXPECT_FALSE(videos->front().viewers);
}

}  // namespace
}  // namespace streamtrack::testing
