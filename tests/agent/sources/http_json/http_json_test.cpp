#include "agent/sources/http_json/http_json.hpp"

#include <gtest/gtest.h>

#include "common/config/schema.hpp"
#include "tests/agent/sources/poll_once.hpp"

namespace streamtrack::testing {
namespace {

using agent::sources::http_json::Mapping;
using agent::sources::http_json::parse;
using Pointer = nlohmann::json::json_pointer;

TEST(HttpJsonParse, MapsFieldsWithPointers) {
  Mapping m;
  m.channel = "main";
  m.live = Pointer("/online");
  m.viewers = Pointer("/stats/viewers");
  m.bitrate_kbps = Pointer("/stats/bitrate");
  m.title = Pointer("/show/title");
  m.started_at = Pointer("/show/started");
  m.chatters = Pointer("/stats/chatters");  // absent: unknown, not an error
  const auto r = parse(fixture("http_json/status.json"), m);
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(r->size(), 1u);
  const Sample& s = r->at(0);
  EXPECT_EQ(s.channel, "main");
  EXPECT_TRUE(s.live);
  EXPECT_EQ(s.viewers, 17);
  EXPECT_EQ(s.bitrate_kbps, 2500.5);
  EXPECT_EQ(s.title, "Morning show");
  EXPECT_EQ(format_rfc3339(*s.started_at), "2026-03-01T08:00:00.000Z");
  EXPECT_FALSE(s.chatters);
}

TEST(HttpJsonParse, ArrayIndexPointer) {
  Mapping m;
  m.channel = "c";
  m.live = Pointer("/data/0/online");
  const auto r = parse(fixture("http_json/status.json"), m);
  ASSERT_TRUE(r) << r.error();
  EXPECT_FALSE(r->at(0).live);
}

TEST(HttpJsonParse, WrongTypesAndMissingLiveAreErrors) {
  Mapping m;
  m.channel = "c";
  m.live = Pointer("/online");
  EXPECT_EQ(parse(fixture("http_json/wrong_types.json"), m).error(),
            "live (/online): expected a boolean, got string \"yes\"");
  m.live = Pointer("/nothing/here");
  EXPECT_EQ(parse(fixture("http_json/status.json"), m).error(),
            "live (/nothing/here): not found in the response");
  m.live = Pointer("/online");
  m.viewers = Pointer("/stats/viewers");
  EXPECT_EQ(parse("{\"online\":true,\"stats\":{\"viewers\":\"many\"}}", m).error(),
            "viewers (/stats/viewers): expected a non-negative integer, got string \"many\"");
  EXPECT_EQ(parse("{\"online\":true,\"stats\":{\"viewers\":-1}}", m).error(),
            "viewers (/stats/viewers): expected a non-negative integer, got integer");
}

TEST(HttpJsonSource, TheIssueExampleConfig) {
  HttpFixtureServer server;
  server.route("/status.json", fixture_response("http_json/status.json", "application/json"));
  const auto result =
      poll_once(agent_config("[[source]]\ntype = \"http_json\"\nname = \"studio\"\n"
                             "url = \"" +
                             server.url("/status.json") +
                             "\"\nchannel = \"main\"\ninterval = \"5s\"\n"
                             "[source.fields]\nlive = \"/online\"\n"
                             "viewers = \"/stats/viewers\"\n"));
  ASSERT_TRUE(result.ok()) << result.only_health().last_error.value_or("");
  ASSERT_EQ(result.samples.size(), 1u);
  EXPECT_EQ(result.samples[0].channel, "main");
  EXPECT_EQ(result.samples[0].platform, "http_json");
  EXPECT_EQ(result.samples[0].viewers, 17);
  EXPECT_EQ(result.only_health().name, "studio");
  EXPECT_TRUE(result.only_health().last_success);
}

TEST(HttpJsonSource, InvalidPointerIsAConfigErrorNamingThePlace) {
  const auto config = agent_config(
      "[[source]]\ntype = \"http_json\"\nname = \"studio\"\nurl = \"http://127.0.0.1:1/\"\n"
      "interval = \"5s\"\n[source.fields]\nlive = \"online\"\n");
  try {
    agent::PollEngine engine(config, SystemClock::instance());
    FAIL() << "expected a ConfigError";
  } catch (const config::ConfigError& e) {
    ASSERT_EQ(e.messages().size(), 1u);
    EXPECT_EQ(e.messages()[0].rfind("agent.toml:10:8: source \"studio\".fields: live: invalid JSON "
                                    "Pointer \"online\": ",
                                    0),
              0u)
        << e.messages()[0];
  }
}

TEST(HttpJsonSource, SendsTheBearerTokenFromAFile) {
  TempDir dir;
  write_file(dir / "token", "abc123\n");
  HttpFixtureServer server;
  server.route("/status.json", fixture_response("http_json/status.json", "application/json"));
  const auto result =
      poll_once(agent_config(source_table("http_json", "studio", server.url("/status.json"),
                                          "bearer_token_file = \"" + (dir / "token").string() +
                                              "\"\n[source.fields]\nlive = \"/online\"")));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(server.requests().at(0).headers.at("authorization"), "Bearer abc123");
}

TEST(HttpJsonSource, UnreadableTokenFileIsAConfigError) {
  const auto config = agent_config(source_table(
      "http_json", "studio", "http://127.0.0.1:1/",
      "bearer_token_file = \"/nonexistent/token\"\n[source.fields]\nlive = \"/online\""));
  try {
    agent::PollEngine engine(config, SystemClock::instance());
    FAIL() << "expected a ConfigError";
  } catch (const config::ConfigError& e) {
    ASSERT_EQ(e.messages().size(), 1u);
    EXPECT_EQ(e.messages()[0],
              "agent.toml:10:21: source \"studio\": bearer_token_file: cannot "
              "read secret file \"/nonexistent/token\"");
  }
}

}  // namespace
}  // namespace streamtrack::testing
