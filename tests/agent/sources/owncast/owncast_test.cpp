#include "agent/sources/owncast/owncast.hpp"

#include <gtest/gtest.h>

#include "tests/agent/sources/poll_once.hpp"

namespace streamtrack::testing {
namespace {

using agent::sources::owncast::parse;

// Found with fuzz/owncast: a number beyond the range of a double threw out of the JSON parser
// that every JSON source shares (the poll's exception, not an error).
TEST(OwncastParse, NumberBeyondADoubleIsAnError) {
  const auto r = parse(R"({"online":true,"viewerCount":1e400})", "oc");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "invalid JSON: number out of range");
}

// Like the payload decoder: nlohmann's parser takes a raw NUL for the end of its input, so a
// body with a NUL and anything after it was parsed up to the NUL.
TEST(OwncastParse, RawNulByteIsInvalidJson) {
  const auto r = parse(std::string("{\"online\":false}\0garbage", 24), "oc");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "invalid JSON: NUL byte at byte 17");
}

TEST(OwncastParse, Live) {
  const auto r = parse(fixture("owncast/live.json"), "oc");
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(r->size(), 1u);
  const Sample& s = r->at(0);
  EXPECT_EQ(s.channel, "oc");
  EXPECT_TRUE(s.live);
  EXPECT_EQ(s.viewers, 42);
  EXPECT_EQ(s.title, "Friday night coding");
  EXPECT_EQ(format_rfc3339(*s.started_at), "2026-07-04T17:01:44.000Z");
}

TEST(OwncastParse, OfflineWithoutViewerCountMeansZeroViewers) {
  const auto r = parse(fixture("owncast/offline.json"), "oc");
  ASSERT_TRUE(r) << r.error();
  const Sample& s = r->at(0);
  EXPECT_FALSE(s.live);
  EXPECT_EQ(s.viewers, 0);
  EXPECT_FALSE(s.started_at);  // lastConnectTime belongs to the previous stream
}

TEST(OwncastParse, LiveWithoutViewerCountMeansUnknown) {
  const auto r = parse(fixture("owncast/live_viewer_count_hidden.json"), "oc");
  ASSERT_TRUE(r) << r.error();
  EXPECT_TRUE(r->at(0).live);
  EXPECT_FALSE(r->at(0).viewers);
}

TEST(OwncastParse, NeverStreamedAndEarliestEra) {
  const auto fresh = parse(fixture("owncast/never_streamed.json"), "oc");
  ASSERT_TRUE(fresh) << fresh.error();
  EXPECT_FALSE(fresh->at(0).live);
  EXPECT_FALSE(fresh->at(0).title);  // "" is no title

  const auto old = parse(fixture("owncast/earliest.json"), "oc");
  ASSERT_TRUE(old) << old.error();
  EXPECT_TRUE(old->at(0).live);
  EXPECT_EQ(old->at(0).viewers, 5);
  EXPECT_FALSE(old->at(0).started_at);
}

TEST(OwncastParse, UnexpectedBodiesAreErrors) {
  EXPECT_EQ(parse("[]", "oc").error(), "expected a JSON object, got array");
  EXPECT_EQ(parse("{\"viewerCount\":3}", "oc").error(), "\"online\" is missing");
  EXPECT_EQ(parse("{\"online\":\"yes\"}", "oc").error(),
            "\"online\": expected a boolean, got string");
  EXPECT_EQ(parse("{\"online\":true,\"viewerCount\":-2}", "oc").error(),
            "\"viewerCount\": expected a count, got integer");
  const auto truncated = parse("{\"online\":true,\"viewerCo", "oc");
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().rfind("invalid JSON: ", 0), 0u) << truncated.error();
}

TEST(OwncastSource, ChannelDefaultsToSourceName) {
  HttpFixtureServer server;
  server.route("/api/status", fixture_response("owncast/live.json", "application/json"));
  const auto result =
      poll_once(agent_config(source_table("owncast", "myowncast", server.url("/api/status"))));
  ASSERT_TRUE(result.ok()) << result.only_health().last_error.value_or("");
  ASSERT_EQ(result.samples.size(), 1u);
  EXPECT_EQ(result.samples[0].channel, "myowncast");
  EXPECT_EQ(result.samples[0].viewers, 42);
}

}  // namespace
}  // namespace streamtrack::testing
