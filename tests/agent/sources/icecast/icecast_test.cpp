#include "agent/sources/icecast/icecast.hpp"

#include <gtest/gtest.h>

#include "tests/agent/sources/poll_once.hpp"

namespace streamtrack::testing {
namespace {

using agent::sources::icecast::parse;

TEST(IcecastParse, SourceAsAnObject) {
  const auto r = parse(fixture("icecast/one_mount.json"));
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(r->size(), 1u);
  const Sample& s = r->at(0);
  EXPECT_EQ(s.channel, "SharvaSG");
  EXPECT_TRUE(s.live);
  EXPECT_EQ(s.viewers, 1);
  EXPECT_EQ(s.title, "Mahesh Mahadeo Deosthale - archana10");
  EXPECT_EQ(s.category, "Sharva SG Audio Stream");
  EXPECT_EQ(s.bitrate_kbps, 128.0);
  EXPECT_EQ(s.audio_codec, "MP3");
  EXPECT_EQ(format_rfc3339(*s.started_at), "2020-05-06T17:58:19.000Z");
}

TEST(IcecastParse, SourceAsAnArray) {
  const auto r = parse(fixture("icecast/two_mounts.json"));
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ(r->at(0).channel, "cuacfm-128k.mp3");
  EXPECT_EQ(r->at(0).viewers, 3);
  // "+0200" offsets without a colon.
  EXPECT_EQ(format_rfc3339(*r->at(0).started_at), "2015-05-20T00:07:48.000Z");
  EXPECT_EQ(r->at(1).channel, "cuacfm.aac");
  EXPECT_EQ(r->at(1).viewers, 0);
  EXPECT_EQ(r->at(1).audio_codec, "AAC");
}

TEST(IcecastParse, NoSourceMeansNoMountsAndNumericTitlesStayText) {
  const auto none = parse(fixture("icecast/no_source.json"));
  ASSERT_TRUE(none) << none.error();
  EXPECT_TRUE(none->empty());

  const auto numeric = parse(fixture("icecast/numeric_title.json"));
  ASSERT_TRUE(numeric) << numeric.error();
  EXPECT_EQ(numeric->at(0).title, "George Orwell - 1984");
  EXPECT_EQ(numeric->at(0).bitrate_kbps, 96.0);
}

TEST(IcecastParse, UnexpectedBodiesAreErrors) {
  EXPECT_EQ(parse("{}").error(), "\"icestats\" is missing or not an object");
  EXPECT_EQ(parse("{\"icestats\":{\"source\":[{\"listeners\":1}]}}").error(),
            "a source has no \"listenurl\" string");
  EXPECT_EQ(parse("{\"icestats\":{\"source\":[1]}}").error(),
            "a source is a integer, expected an object");
}

TEST(IcecastSource, ListedMountThatIsNotConnectedIsOffline) {
  HttpFixtureServer server;
  server.route("/status-json.xsl", fixture_response("icecast/no_source.json", "application/json"));
  const auto result = poll_once(agent_config(source_table(
      "icecast", "radio", server.url("/status-json.xsl"), "streams = [\"live.mp3\"]")));
  ASSERT_TRUE(result.ok()) << result.only_health().last_error.value_or("");
  ASSERT_EQ(result.samples.size(), 1u);
  EXPECT_EQ(result.samples[0].channel, "live.mp3");
  EXPECT_FALSE(result.samples[0].live);
}

}  // namespace
}  // namespace streamtrack::testing
