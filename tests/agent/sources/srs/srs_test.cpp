#include "agent/sources/srs/srs.hpp"

#include <gtest/gtest.h>

#include "tests/agent/sources/poll_once.hpp"

namespace streamtrack::testing {
namespace {

using agent::sources::srs::parse;

TEST(SrsParse, LiveStream) {
  const auto r = parse(fixture("srs/live.json"));
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(r->size(), 1u);
  const Sample& s = r->at(0);
  EXPECT_EQ(s.channel, "live/livestream");
  EXPECT_TRUE(s.live);
  EXPECT_EQ(s.viewers, 2);  // 3 clients including the publisher
  EXPECT_EQ(s.bitrate_kbps, 4498.0);
  EXPECT_EQ(s.stream_id, "vid-9xk2m7q");
  EXPECT_EQ(s.width, 1920);
  EXPECT_EQ(s.height, 1080);
  EXPECT_EQ(s.video_codec, "H264");
  EXPECT_EQ(s.audio_codec, "AAC");
  EXPECT_FALSE(s.started_at);  // live_ms is the server clock, not the stream start
}

TEST(SrsParse, OfflineAndUnpublishedWithPlayer) {
  const auto offline = parse(fixture("srs/offline.json"));
  ASSERT_TRUE(offline) << offline.error();
  EXPECT_TRUE(offline->empty());

  const auto unpublished = parse(fixture("srs/unpublished_player_attached.json"));
  ASSERT_TRUE(unpublished) << unpublished.error();
  ASSERT_EQ(unpublished->size(), 1u);
  EXPECT_FALSE(unpublished->at(0).live);
  EXPECT_EQ(unpublished->at(0).viewers, 1);
  EXPECT_FALSE(unpublished->at(0).video_codec);
}

TEST(SrsParse, ErrorCodeInA200IsAnError) {
  EXPECT_EQ(parse(fixture("srs/error_code.json")).error(), "SRS error code 2048");
  EXPECT_EQ(parse("{\"streams\":[]}").error(), "\"code\" is missing or not an integer");
  EXPECT_EQ(parse("{\"code\":0}").error(), "\"streams\" is missing or not an array");
}

TEST(SrsSource, AsksForALargePageAndFiltersStreams) {
  HttpFixtureServer server;
  server.route("/api/v1/streams", fixture_response("srs/live.json", "application/json"));
  const auto result = poll_once(agent_config(
      source_table("srs", "srs", server.url("/api/v1/streams"), "streams = [\"live/other\"]")));
  ASSERT_TRUE(result.ok()) << result.only_health().last_error.value_or("");
  ASSERT_EQ(result.samples.size(), 1u);
  EXPECT_EQ(result.samples[0].channel, "live/other");
  EXPECT_FALSE(result.samples[0].live);
  EXPECT_EQ(server.requests().at(0).query, "count=100");
}

TEST(SrsSource, ErrorCodeCountsAsAFailedPoll) {
  HttpFixtureServer server;
  server.route("/api/v1/streams", fixture_response("srs/error_code.json", "application/json"));
  const auto result = poll_once(agent_config(
      source_table("srs", "srs", server.url("/api/v1/streams"), "streams = [\"live/x\"]")));
  // An error never turns into "offline": no sample at all.
  EXPECT_TRUE(result.samples.empty());
  EXPECT_EQ(result.only_health().errors, 1);
  EXPECT_EQ(result.only_health().last_error, "SRS error code 2048");
}

}  // namespace
}  // namespace streamtrack::testing
