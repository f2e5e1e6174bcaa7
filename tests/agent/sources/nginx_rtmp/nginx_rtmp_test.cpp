#include "agent/sources/nginx_rtmp/nginx_rtmp.hpp"

#include <gtest/gtest.h>

#include "tests/agent/sources/poll_once.hpp"

namespace streamtrack::testing {
namespace {

using agent::sources::nginx_rtmp::parse;

const TimePoint k_now = *parse_rfc3339("2026-01-10T12:00:00.500Z");

TEST(NginxRtmpParse, LiveStreamWithPublisherAndTwoPlayers) {
  const auto r = parse(fixture("nginx_rtmp/live.xml"), k_now);
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(r->size(), 1u);
  const Sample& s = r->at(0);
  EXPECT_EQ(s.channel, "live/mystream");
  EXPECT_TRUE(s.live);
  EXPECT_EQ(s.viewers, 2);
  EXPECT_DOUBLE_EQ(*s.bitrate_kbps, 4515.896);
  EXPECT_EQ(s.fps, 30.0);
  EXPECT_EQ(s.width, 1920);
  EXPECT_EQ(s.height, 1080);
  EXPECT_EQ(s.video_codec, "H264");
  EXPECT_EQ(s.audio_codec, "AAC");
  // The publisher connected 1805310 ms before the poll, floored to the second.
  EXPECT_EQ(format_rfc3339(*s.started_at), "2026-01-10T11:29:55.000Z");
}

TEST(NginxRtmpParse, ApplicationWithoutStreamsHasNoChannels) {
  const auto r = parse(fixture("nginx_rtmp/offline.xml"), k_now);
  ASSERT_TRUE(r) << r.error();
  EXPECT_TRUE(r->empty());
}

TEST(NginxRtmpParse, EveryStreamOfEveryApplication) {
  const auto r = parse(fixture("nginx_rtmp/several_streams.xml"), k_now);
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(r->size(), 3u);
  const Sample* main = find_channel(*r, "live/main");
  ASSERT_NE(main, nullptr);
  EXPECT_TRUE(main->live);
  EXPECT_EQ(main->viewers, 0);  // only the publisher
  EXPECT_EQ(main->fps, 60.0);
  // Players attached but no publisher: offline, the players are still counted, no meta.
  const Sample* backup = find_channel(*r, "live/backup");
  ASSERT_NE(backup, nullptr);
  EXPECT_FALSE(backup->live);
  EXPECT_EQ(backup->viewers, 1);
  EXPECT_FALSE(backup->bitrate_kbps);
  EXPECT_FALSE(backup->started_at);
  const Sample* cam2 = find_channel(*r, "studio/cam2");
  ASSERT_NE(cam2, nullptr);
  EXPECT_TRUE(cam2->live);
  EXPECT_EQ(cam2->viewers, 2);
  EXPECT_EQ(cam2->bitrate_kbps, 3500.0);
  EXPECT_FALSE(cam2->audio_codec);  // empty <audio/>
  EXPECT_FALSE(cam2->started_at);   // stat without the clients flag
}

TEST(NginxRtmpParse, MalformedTruncatedAndForeignDocumentsAreErrors) {
  const std::string live = fixture("nginx_rtmp/live.xml");
  const auto truncated = parse(live.substr(0, live.size() / 2), k_now);
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().rfind("invalid XML: ", 0), 0u) << truncated.error();

  const auto garbage = parse("{\"not\": \"xml\"}", k_now);
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().rfind("invalid XML: ", 0), 0u) << garbage.error();

  const auto html = parse(fixture("nginx_rtmp/not_rtmp_stat.xml"), k_now);
  ASSERT_FALSE(html);
  EXPECT_EQ(html.error(), "unexpected XML: root element <html>, expected <rtmp>");

  const auto empty = parse("", k_now);
  EXPECT_FALSE(empty);
}

TEST(NginxRtmpParse, StreamWithoutCountIsAnError) {
  const auto r = parse(
      "<rtmp><server><application><name>live</name><live><stream><name>x</name>"
      "<nclients>many</nclients><publishing/></stream></live></application></server></rtmp>",
      k_now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "stream \"live/x\": <nclients> is missing or not a count");
}

TEST(NginxRtmpSource, ServedStatWithStreamFilterReportsAbsentStreamOffline) {
  HttpFixtureServer server;
  server.route("/stat", fixture_response("nginx_rtmp/live.xml", "text/xml"));
  const auto result = poll_once(agent_config(source_table(
      "nginx_rtmp", "rtmp", server.url("/stat"), "streams = [\"live/mystream\", \"live/other\"]")));
  ASSERT_TRUE(result.ok()) << result.only_health().last_error.value_or("");
  ASSERT_EQ(result.samples.size(), 2u);
  const Sample* live = find_channel(result.samples, "live/mystream");
  ASSERT_NE(live, nullptr);
  EXPECT_TRUE(live->live);
  EXPECT_EQ(live->viewers, 2);
  EXPECT_EQ(live->platform, "nginx_rtmp");
  EXPECT_EQ(live->agent, "test-agent");
  const Sample* other = find_channel(result.samples, "live/other");
  ASSERT_NE(other, nullptr);
  EXPECT_FALSE(other->live);
  EXPECT_FALSE(other->viewers);
}

}  // namespace
}  // namespace streamtrack::testing
