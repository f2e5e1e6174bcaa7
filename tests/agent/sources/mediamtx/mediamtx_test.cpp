#include "agent/sources/mediamtx/mediamtx.hpp"

#include <gtest/gtest.h>

#include "tests/agent/sources/poll_once.hpp"

namespace streamtrack::testing {
namespace {

using agent::sources::mediamtx::parse;

TEST(MediamtxParse, LivePathWithReaders) {
  const auto r = parse(fixture("mediamtx/live.json"));
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(r->samples.size(), 1u);
  EXPECT_EQ(r->page_count, 1);
  const Sample& s = r->samples[0];
  EXPECT_EQ(s.channel, "mystream");
  EXPECT_TRUE(s.live);
  EXPECT_EQ(s.viewers, 2);
  EXPECT_EQ(s.video_codec, "H264");
  EXPECT_EQ(s.audio_codec, "MPEG-4 Audio");
  EXPECT_EQ(s.width, 1920);
  EXPECT_EQ(s.height, 1080);
  EXPECT_EQ(format_rfc3339(*s.started_at), "2026-08-22T17:01:02.123Z");
}

TEST(MediamtxParse, IdleStaticPathIsOfflineAndEmptyListHasNoChannels) {
  const auto idle = parse(fixture("mediamtx/idle_static_path.json"));
  ASSERT_TRUE(idle) << idle.error();
  ASSERT_EQ(idle->samples.size(), 1u);
  EXPECT_FALSE(idle->samples[0].live);
  EXPECT_EQ(idle->samples[0].viewers, 0);
  const auto empty = parse(fixture("mediamtx/empty.json"));
  ASSERT_TRUE(empty) << empty.error();
  EXPECT_TRUE(empty->samples.empty());
}

TEST(MediamtxParse, OldServersWithReadyAndTracks) {
  const auto r = parse(fixture("mediamtx/v1_15_ready.json"));
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(r->samples.size(), 2u);
  EXPECT_TRUE(r->samples[0].live);
  EXPECT_EQ(r->samples[0].viewers, 3);
  EXPECT_EQ(r->samples[0].video_codec, "H264");
  EXPECT_EQ(format_rfc3339(*r->samples[0].started_at), "2024-01-10T08:00:00.500Z");
  EXPECT_FALSE(r->samples[1].live);
}

TEST(MediamtxParse, UnexpectedBodiesAreErrors) {
  EXPECT_EQ(parse("{\"items\":{}}").error(),
            "\"items\" is an object: a MediaMTX v0 /v2 API, use /v3");
  EXPECT_EQ(parse("{\"status\":\"ok\"}").error(), "\"items\" is missing or not an array");
  EXPECT_EQ(parse("{\"items\":[{\"name\":\"x\"}]}").error(),
            "path \"x\": neither \"available\" nor \"ready\" is a boolean");
  EXPECT_FALSE(parse("{\"items\":[{\"name\":\"x\",\"ready\":tr"));
}

TEST(MediamtxSource, FollowsPages) {
  HttpFixtureServer server;
  // The fixture server ignores the query, so the pages come as a sequence.
  server.route_sequence("/v3/paths/list",
                        {fixture_response("mediamtx/page0.json", "application/json"),
                         fixture_response("mediamtx/page1.json", "application/json")});
  const auto result =
      poll_once(agent_config(source_table("mediamtx", "mtx", server.url("/v3/paths/list"))));
  ASSERT_TRUE(result.ok()) << result.only_health().last_error.value_or("");
  ASSERT_EQ(result.samples.size(), 3u);
  EXPECT_TRUE(find_channel(result.samples, "a")->live);
  EXPECT_EQ(find_channel(result.samples, "a")->width, 640);
  EXPECT_TRUE(find_channel(result.samples, "b")->live);
  EXPECT_FALSE(find_channel(result.samples, "c")->live);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].query, "");
  EXPECT_EQ(requests[1].query, "page=1");
}

TEST(MediamtxSource, ErrorEnvelopeBecomesTheMessage) {
  HttpFixtureServer server;
  auto response = fixture_response("mediamtx/error_401.json", "application/json");
  response.status = 401;
  server.route("/v3/paths/list", response);
  const auto result =
      poll_once(agent_config(source_table("mediamtx", "mtx", server.url("/v3/paths/list"))));
  EXPECT_TRUE(result.samples.empty());
  EXPECT_EQ(result.only_health().last_error, "HTTP 401: authentication error");
}

TEST(MediamtxSource, SendsBasicAuth) {
  TempDir dir;
  write_file(dir / "pw", "s3cret\n");
  HttpFixtureServer server;
  server.route("/v3/paths/list", fixture_response("mediamtx/live.json", "application/json"));
  const auto result = poll_once(agent_config(
      source_table("mediamtx", "mtx", server.url("/v3/paths/list"),
                   "username = \"api\"\npassword_file = \"" + (dir / "pw").string() + "\"")));
  ASSERT_TRUE(result.ok());
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].headers.at("authorization"), "Basic YXBpOnMzY3JldA==");
}

}  // namespace
}  // namespace streamtrack::testing
