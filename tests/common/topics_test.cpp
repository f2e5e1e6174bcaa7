#include "common/wire/topics.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "common/wire/utf8.hpp"

namespace streamtrack::wire {
namespace {

TEST(TopicEscaping, LeavesOrdinaryNamesAlone) {
  EXPECT_EQ(escape_segment("rig-1"), "rig-1");
  EXPECT_EQ(escape_segment("Ünïcode name"), "Ünïcode name");
}

TEST(TopicEscaping, EscapesEverythingThatCouldChangeTheTopic) {
  EXPECT_EQ(escape_segment("live/main"), "live%2Fmain");
  EXPECT_EQ(escape_segment("a+b"), "a%2Bb");
  EXPECT_EQ(escape_segment("#"), "%23");
  EXPECT_EQ(escape_segment("100%"), "100%25");
  EXPECT_EQ(escape_segment(std::string("nul\0x", 5)), "nul%00x");
  EXPECT_EQ(escape_segment("tab\there"), "tab%09here");
  EXPECT_EQ(escape_segment(""), "%");
}

TEST(TopicEscaping, RoundTripsAndIsInjective) {
  const std::vector<std::string> names{
      "", "%", "%25", "/", "a/b", "+", "#", "plain", "x%2Fy", std::string("\0", 1), "%%"};
  std::set<std::string> escaped;
  for (const auto& n : names) {
    const auto e = escape_segment(n);
    EXPECT_EQ(e.find_first_of("/+#"), std::string::npos) << n;
    EXPECT_FALSE(e.empty());
    EXPECT_EQ(unescape_segment(e), n);
    escaped.insert(e);
  }
  EXPECT_EQ(escaped.size(), names.size());
}

TEST(TopicEscaping, UnescapeRejectsWhatEscapeNeverMakes) {
  EXPECT_FALSE(unescape_segment("").has_value());
  EXPECT_FALSE(unescape_segment("%2").has_value());
  EXPECT_FALSE(unescape_segment("%zz").has_value());
  EXPECT_FALSE(unescape_segment("%41").has_value());  // 'A' is never escaped
  EXPECT_FALSE(unescape_segment("%2f").has_value());  // lower-case hex is not canonical
  EXPECT_FALSE(unescape_segment("a+b").has_value());
}

// What an MQTT topic level may hold: valid UTF-8, no wildcards or separators, no controls,
// no non-characters (MQTT 5.0 section 1.5.4, and what Mosquitto enforces).
bool valid_topic_level(const std::string& level) {
  for (std::size_t i = 0; i < level.size();) {
    const auto d = utf8::decode_at(level, i);
    if (d.length == 0) return false;
    const auto cp = d.code_point;
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == '/' || cp == '+' || cp == '#')
      return false;
    if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE) return false;
    i += d.length;
  }
  return true;
}

TEST(TopicEscaping, EscapesBytesThatAreNotUtf8AndCodePointsATopicMustNotCarry) {
  EXPECT_EQ(escape_segment("caf\xe9"), "caf%E9");  // Latin-1, not UTF-8
  EXPECT_EQ(escape_segment("bad\xff\xfe"), "bad%FF%FE");
  EXPECT_EQ(escape_segment("\xc0\xaf"), "%C0%AF");         // overlong '/'
  EXPECT_EQ(escape_segment("\xed\xa0\x80"), "%ED%A0%80");  // a surrogate
  EXPECT_EQ(escape_segment("c1\xc2\x85x"), "c1%C2%85x");   // U+0085, a C1 control
  EXPECT_EQ(escape_segment("\xef\xbf\xbf"), "%EF%BF%BF");  // U+FFFF
  EXPECT_EQ(escape_segment("del\x7f"), "del%7F");
  EXPECT_EQ(escape_segment("caf\xc3\xa9 \xf0\x9f\x8e\xae"),
            "caf\xc3\xa9 \xf0\x9f\x8e\xae");                // valid: kept
  EXPECT_FALSE(unescape_segment("caf%C3%A9").has_value());  // valid UTF-8 is never escaped
}

TEST(TopicEscaping, AnyByteStringBecomesOneValidTopicLevelAndComesBack) {
  std::mt19937 rng(20261130);
  std::uniform_int_distribution<int> length(0, 12);
  std::uniform_int_distribution<int> byte(0, 255);
  std::set<std::string> names;
  std::set<std::string> escaped;
  for (int i = 0; i < 20'000; ++i) {
    std::string name;
    const int n = length(rng);
    for (int k = 0; k < n; ++k) name += static_cast<char>(byte(rng));
    if (!names.insert(name).second) continue;
    const auto e = escape_segment(name);
    ASSERT_TRUE(valid_topic_level(e)) << e;
    ASSERT_FALSE(e.empty());
    ASSERT_EQ(unescape_segment(e), name) << e;
    escaped.insert(e);
  }
  EXPECT_EQ(escaped.size(), names.size());
}

TEST(Topics, BuildsTheDocumentedLayout) {
  Topics t;
  EXPECT_EQ(t.metrics("rig-1", "nginx_rtmp", "live/main"),
            "streamtrack/v1/rig-1/metrics/nginx_rtmp/live%2Fmain");
  EXPECT_EQ(t.status("rig-1"), "streamtrack/v1/rig-1/status");
  EXPECT_EQ(t.health("rig-1"), "streamtrack/v1/rig-1/health");
  EXPECT_EQ(t.ack("rig-1"), "streamtrack/v1/rig-1/ack");
  EXPECT_EQ(t.alert("viewer_drop", {"twitch", "a/b"}),
            "streamtrack/v1/alerts/viewer_drop/twitch/a%2Fb");
  EXPECT_EQ(t.all_metrics_filter(), "streamtrack/v1/+/metrics/#");
  EXPECT_EQ(t.all_status_filter(), "streamtrack/v1/+/status");
  EXPECT_EQ(t.all_health_filter(), "streamtrack/v1/+/health");
  EXPECT_EQ(Topics("site/a").status("x"), "site/a/x/status");
}

TEST(Topics, NamesCannotInjectLevelsOrWildcards) {
  Topics t;
  const auto topic = t.metrics("a/+", "#", "");
  EXPECT_EQ(topic, "streamtrack/v1/a%2F%2B/metrics/%23/%");
  const auto parsed = t.parse(topic);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->kind, TopicKind::metrics);
  EXPECT_EQ(parsed->agent, "a/+");
  EXPECT_EQ(parsed->platform, "#");
  EXPECT_EQ(parsed->channel, "");
}

TEST(Topics, ParsesEveryKind) {
  Topics t;
  EXPECT_EQ(t.parse("streamtrack/v1/rig/status")->kind, TopicKind::status);
  EXPECT_EQ(t.parse("streamtrack/v1/rig/health")->kind, TopicKind::health);
  const auto frames = t.parse(t.frames("a/+"));
  ASSERT_TRUE(frames);
  EXPECT_EQ(frames->kind, TopicKind::frames);
  EXPECT_EQ(frames->agent, "a/+");
  EXPECT_EQ(t.frames("rig"), "streamtrack/v1/rig/frames");
  EXPECT_EQ(t.all_frames_filter(), "streamtrack/v1/+/frames");
  EXPECT_EQ(t.parse("streamtrack/v1/rig/ack")->agent, "rig");
  const auto alert = t.parse("streamtrack/v1/alerts/stale/twitch/chan");
  ASSERT_TRUE(alert);
  EXPECT_EQ(alert->kind, TopicKind::alert);
  EXPECT_EQ(alert->alert, (std::vector<std::string>{"stale", "twitch", "chan"}));
  const auto m = t.parse("streamtrack/v1/rig/metrics/nginx_rtmp/live%2Fmain");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->channel, "live/main");
}

TEST(Topics, RejectsForeignAndMalformedTopics) {
  Topics t;
  for (const char* bad :
       {"other/v1/rig/status", "streamtrack/v1", "streamtrack/v1/", "streamtrack/v1x/rig/status",
        "streamtrack/v1/rig", "streamtrack/v1/rig/unknown", "streamtrack/v1/rig/metrics/p",
        "streamtrack/v1/rig/metrics/p/c/extra", "streamtrack/v1/rig/metrics/p/%zz",
        "streamtrack/v1//status"}) {
    EXPECT_FALSE(t.parse(bad).has_value()) << bad;
  }
}

TEST(Topics, RootValidation) {
  EXPECT_EQ(check_topic_root("streamtrack/v1"), std::nullopt);
  EXPECT_EQ(check_topic_root(""), "must not be empty");
  EXPECT_EQ(check_topic_root("$SYS/x"), "must not start with '$' (reserved for broker topics)");
  EXPECT_EQ(check_topic_root("/a"), "must not start or end with '/'");
  EXPECT_EQ(check_topic_root("a/"), "must not start or end with '/'");
  EXPECT_EQ(check_topic_root("a//b"), "must not contain an empty level ('//')");
  EXPECT_EQ(check_topic_root("a/+/b"), "must not contain the wildcards '+' or '#'");
  EXPECT_EQ(check_topic_root("a/#"), "must not contain the wildcards '+' or '#'");
}

}  // namespace
}  // namespace streamtrack::wire
