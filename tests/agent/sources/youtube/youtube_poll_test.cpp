// The youtube Poll state machine with canned outcomes, no socket: the key, quotaExceeded,
// errors and videos.list batches.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/sources/youtube/youtube.hpp"
#include "tests/agent/sources/canned.hpp"
#include "tests/agent/sources/drive.hpp"

namespace streamtrack::testing {
namespace {

using agent::sources::youtube::YoutubeOptions;
using agent::sources::youtube::YoutubeSource;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr const char* k_key = "AIzaSy-canned-key";
const std::string k_api = "http://127.0.0.1:1/youtube/v3";

std::string search_body(const std::vector<std::string>& video_ids) {
  std::string items;
  for (const auto& id : video_ids) {
    items += std::string(items.empty() ? "" : ",") +
             R"({"id":{"kind":"youtube#video","videoId":")" + id + "\"}}";
  }
  return R"({"kind":"youtube#searchListResponse","items":[)" + items + "]}";
}

// A videos.list answer: every id live with 42 viewers.
std::string videos_body(const std::vector<std::string>& video_ids) {
  std::string items;
  for (const auto& id : video_ids) {
    items += std::string(items.empty() ? "" : ",") + R"({"id":")" + id +
             R"(","snippet":{"title":"Live","liveBroadcastContent":"live"},)" +
             R"("liveStreamingDetails":{"actualStartTime":"2026-07-01T06:00:00Z",)" +
             R"("concurrentViewers":"42"}})";
  }
  return R"({"kind":"youtube#videoListResponse","items":[)" + items + "]}";
}

class YoutubePoll : public ::testing::Test {
 protected:
  std::unique_ptr<YoutubeSource> source(std::vector<std::string> channels) {
    YoutubeOptions o;
    o.name = "yt";
    o.api_key = k_key;
    o.channels = std::move(channels);
    o.api_base_url = k_api;
    o.daily_quota = 1'000'000;
    o.interval = std::chrono::seconds(30);
    return std::make_unique<YoutubeSource>(std::move(o), m_clock);
  }

  // Midnight PDT: the quota day starts.
  ManualClock m_clock{*parse_rfc3339("2026-07-01T07:00:00Z")};
};

TEST_F(YoutubePoll, SearchesEachChannelThenAsksForViewersWithTheKeyInAHeader) {
  auto yt = source({"UClive", "UCquiet"});
  const auto poll =
      run_canned(*yt, m_clock,
                 {canned_json(200, search_body({"vid1"})), canned_json(200, search_body({})),
                  canned_json(200, videos_body({"vid1"}))});
  ASSERT_TRUE(poll.result) << poll.result.error();
  ASSERT_EQ(poll.requests.size(), 3U);
  EXPECT_EQ(poll.requests[0].url,
            k_api + "/search?part=snippet&channelId=UClive&eventType=live&type=video");
  EXPECT_EQ(poll.requests[2].url, k_api + "/videos?part=liveStreamingDetails,snippet&id=vid1");
  for (std::size_t i = 0; i < poll.requests.size(); ++i) {
    EXPECT_EQ(poll.header(i, "X-goog-api-key"), k_key);
    EXPECT_THAT(poll.requests[i].url, Not(HasSubstr(k_key)));
  }
  const auto* live = sample_for(*poll.result, "UClive");
  ASSERT_NE(live, nullptr);
  EXPECT_TRUE(live->live);
  EXPECT_EQ(live->viewers, 42);
  EXPECT_EQ(live->stream_id, "vid1");
  const auto* quiet = sample_for(*poll.result, "UCquiet");
  ASSERT_NE(quiet, nullptr);
  EXPECT_FALSE(quiet->live);

  // The live video is known and the quiet channel's next search is not due: one call.
  m_clock.advance(std::chrono::seconds{30});
  const auto next = run_canned(*yt, m_clock, {canned_json(200, videos_body({"vid1"}))});
  ASSERT_TRUE(next.result) << next.result.error();
  ASSERT_EQ(next.requests.size(), 1U);
  EXPECT_THAT(next.requests[0].url, HasSubstr("/videos?"));
  EXPECT_EQ(yt->units_spent(), 2 * 100 + 2);
}

TEST_F(YoutubePoll, QuotaExceededPausesEveryRequestUntilMidnightPacific) {
  auto yt = source({"UClive"});
  const auto exceeded = run_canned(
      *yt, m_clock,
      {canned_json(403, R"({"error":{"code":403,"message":"over quota",)"
                        R"("errors":[{"reason":"quotaExceeded","message":"over quota"}]}})")});
  ASSERT_FALSE(exceeded.result);
  EXPECT_EQ(exceeded.result.error(),
            "HTTP 403: quotaExceeded: over quota; paused until 2026-07-02T07:00:00.000Z");

  m_clock.advance(std::chrono::hours{23});
  const auto paused = run_canned(*yt, m_clock, {});
  EXPECT_TRUE(paused.requests.empty());
  ASSERT_FALSE(paused.result);
  EXPECT_THAT(paused.result.error(), StartsWith("daily quota exhausted (quotaExceeded)"));

  m_clock.advance(std::chrono::hours{1});
  const auto resumed = run_canned(*yt, m_clock, {canned_json(200, search_body({}))});
  ASSERT_TRUE(resumed.result) << resumed.result.error();
  EXPECT_EQ(resumed.requests.size(), 1U);
}

TEST_F(YoutubePoll, SixtyLiveVideosTakeTwoVideosCalls) {
  std::vector<std::string> channels, videos;
  std::deque<agent::http::Outcome> answers;
  for (int i = 0; i < 60; ++i) {
    channels.push_back("UC" + std::to_string(100 + i));
    videos.push_back("v" + std::to_string(100 + i));
    answers.push_back(canned_json(200, search_body({videos.back()})));
  }
  answers.push_back(
      canned_json(200, videos_body(std::vector<std::string>(videos.begin(), videos.begin() + 50))));
  answers.push_back(
      canned_json(200, videos_body(std::vector<std::string>(videos.begin() + 50, videos.end()))));
  auto yt = source(channels);
  const auto poll = run_canned(*yt, m_clock, std::move(answers));
  ASSERT_TRUE(poll.result) << poll.result.error();
  ASSERT_EQ(poll.requests.size(), 62U);
  EXPECT_THAT(poll.requests[60].url, HasSubstr("id=v100%2Cv101%2C"));
  EXPECT_THAT(poll.requests[61].url, HasSubstr("id=v150%2C"));
  EXPECT_EQ(poll.result->size(), 60U);
}

TEST_F(YoutubePoll, ErrorsFailThePollAndNeverShowTheKey) {
  auto yt = source({"UClive"});
  const auto invalid = run_canned(
      *yt, m_clock,
      {canned_json(400, std::string(R"({"error":{"code":400,"message":"API key )") + k_key +
                            R"( not valid","errors":[{"reason":"keyInvalid"}]}})")});
  ASSERT_FALSE(invalid.result);
  EXPECT_THAT(invalid.result.error(), StartsWith("HTTP 400: keyInvalid"));
  EXPECT_THAT(invalid.result.error(), Not(HasSubstr(k_key)));

  const auto timed_out = run_canned(*yt, m_clock, {canned_failure("timed out after 10s")});
  ASSERT_FALSE(timed_out.result);
  EXPECT_EQ(timed_out.result.error(), "timed out after 10s");
}

}  // namespace
}  // namespace streamtrack::testing
