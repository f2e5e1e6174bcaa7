#include "common/wire/codec.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

namespace streamtrack::wire {
namespace {

using namespace std::chrono;

Sample full_sample() {
  Sample s;
  s.agent = "rig-1";
  s.seq = 42;
  s.ts = sys_days{2026y / November / 25} + 1h + 2min + 3s + 4ms;
  s.platform = "nginx_rtmp";
  s.channel = "live/main";
  s.live = true;
  s.viewers = 2;
  s.stream_id = "abc";
  s.title = "Tëst \"stream\"";
  s.category = "Just Chatting";
  s.started_at = sys_days{2026y / November / 25} + 1h;
  s.chat_messages = 10;
  s.chatters = 3;
  s.bitrate_kbps = 2500.5;
  s.fps = 29.97;
  s.dropped_frames = 7;
  s.width = 1920;
  s.height = 1080;
  s.video_codec = "H264";
  s.audio_codec = "AAC";
  return s;
}

// A minimal valid payload with one field replaced (or removed when `value` is empty).
std::string with(const std::string& key, const std::string& value) {
  auto j = nlohmann::json::parse(
      R"({"schema":1,"agent":"a","seq":1,"ts":"2026-11-25T00:00:00.000Z","platform":"p","channel":"c","live":false})");
  if (value.empty()) {
    j.erase(key);
  } else {
    j[key] = nlohmann::json::parse(value);
  }
  return j.dump();
}

std::string reason(const std::string& payload) {
  const auto r = decode_sample(payload);
  return r.ok() ? "accepted" : r.error();
}

// Found with the adversarial MQTT corpus (tests/collector/integration/adversarial_it.cpp): a
// number beyond the range of a double threw out of the decoder and stopped the collector.
TEST(SampleCodec, NumberBeyondADoubleIsAReasonNotAnException) {
  const std::string sample =
      R"({"schema":1,"agent":"a","seq":1,"ts":"2026-11-25T00:00:00.000Z","platform":"p","channel":"c","live":true,"bitrate_kbps":1e400})";
  EXPECT_EQ(reason(sample), "invalid JSON: number out of range");
  EXPECT_EQ(reason("{\"viewers\":-" + std::string(400, '9') + "}"),
            "invalid JSON: number out of range");
  EXPECT_EQ(decode_status(R"({"state":"online","sources":1e999})").error(),
            "invalid JSON: number out of range");
  EXPECT_EQ(decode_health(R"({"ts":1e400})").error(), "invalid JSON: number out of range");
  EXPECT_EQ(decode_ack(R"({"ranges":[[1,1e400]]})").error(), "invalid JSON: number out of range");
}

// Found with the adversarial MQTT corpus: nlohmann's parser takes a NUL byte for the end of
// its input, so a valid object followed by NUL and anything at all was accepted.
TEST(SampleCodec, RawNulByteIsInvalidJson) {
  const std::string valid =
      R"({"schema":1,"agent":"a","seq":1,"ts":"2026-11-25T00:00:00.000Z","platform":"p","channel":"c","live":false})";
  ASSERT_EQ(reason(valid), "accepted");
  EXPECT_EQ(reason(valid + std::string(1, '\0') + "trailing"),
            "invalid JSON at byte " + std::to_string(valid.size() + 1));
  EXPECT_EQ(decode_ack(std::string("{\"ranges\":[]}\0x", 15)).error(), "invalid JSON at byte 14");
}

TEST(SampleCodec, NestingBeyondSixtyFourLevelsIsRefusedBeforeParsing) {
  const std::string valid =
      R"({"schema":1,"agent":"a","seq":1,"ts":"2026-11-25T00:00:00.000Z","platform":"p","channel":"c","live":false})";
  ASSERT_EQ(reason(valid), "accepted");
  const auto nested = [](int levels) {
    return R"({"schema":1,"x":)" + std::string(static_cast<std::size_t>(levels), '[') +
           std::string(static_cast<std::size_t>(levels), ']') + "}";
  };
  EXPECT_NE(reason(nested(63)), "nesting deeper than 64 levels");
  EXPECT_EQ(reason(nested(64)), "nesting deeper than 64 levels");
  EXPECT_EQ(decode_ack(std::string(30'000, '{')).error(), "nesting deeper than 64 levels");
  // A quoted bracket, or an escaped quote before one, is not nesting.
  EXPECT_NE(
      reason(
          R"({"schema":1,"x":"\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})"),
      "nesting deeper than 64 levels");
}

TEST(SampleCodec, RoundTripsEveryField) {
  const Sample s = full_sample();
  const auto decoded = decode_sample(encode_sample(s));
  ASSERT_TRUE(decoded.ok()) << decoded.error();
  EXPECT_EQ(*decoded, s);
}

TEST(SampleCodec, UnknownValuesAreAbsentNotNullOrZero) {
  Sample s;
  s.agent = "a";
  s.seq = 1;
  s.ts = TimePoint{sys_days{2026y / January / 1}};
  s.platform = "owncast";
  s.channel = "main";
  const auto text = encode_sample(s);
  EXPECT_EQ(
      text,
      R"({"schema":1,"agent":"a","seq":1,"ts":"2026-01-01T00:00:00.000Z","platform":"owncast","channel":"main","live":false})");
  const auto decoded = decode_sample(text);
  ASSERT_TRUE(decoded.ok());
  EXPECT_FALSE(decoded->viewers.has_value());
  EXPECT_EQ(*decoded, s);
}

TEST(SampleCodec, IgnoresUnknownFields) {
  EXPECT_EQ(reason(with("future_field", R"({"x":1})")), "accepted");
}

TEST(SampleCodec, RejectsEachProblemWithAPreciseReason) {
  EXPECT_EQ(reason("{not json"), "invalid JSON at byte 3");
  EXPECT_EQ(reason(""), "invalid JSON at byte 1");
  EXPECT_EQ(reason("[1,2]"), "expected a JSON object, got array");
  EXPECT_EQ(reason(with("seq", "")), "missing required field \"seq\"");
  EXPECT_EQ(reason(with("ts", "")), "missing required field \"ts\"");
  EXPECT_EQ(reason(with("live", "")), "missing required field \"live\"");
  EXPECT_EQ(reason(with("schema", "2")), "field \"schema\": unsupported version 2 (expected 1)");
  EXPECT_EQ(reason(with("seq", R"("1")")), "field \"seq\": expected an integer, got string");
  EXPECT_EQ(reason(with("seq", "1.5")), "field \"seq\": expected an integer, got number");
  EXPECT_EQ(reason(with("seq", "0")),
            "field \"seq\": out of range: 0 (expected 1..9007199254740991)");
  EXPECT_EQ(reason(with("seq", "18446744073709551615")),
            "field \"seq\": out of range: 18446744073709551615 (expected 1..9007199254740991)");
  EXPECT_EQ(reason(with("live", "1")), "field \"live\": expected a boolean, got integer");
  EXPECT_EQ(reason(with("agent", R"("")")), "field \"agent\": must not be empty");
  EXPECT_EQ(reason(with("channel", "null")), "field \"channel\": expected a string, got null");
  EXPECT_EQ(reason(with("viewers", "null")), "field \"viewers\": expected an integer, got null");
  EXPECT_EQ(reason(with("viewers", "-5")),
            "field \"viewers\": out of range: -5 (expected 0..2147483647)");
  EXPECT_EQ(reason(with("fps", "1000.5")),
            "field \"fps\": out of range: 1000.5 (expected 0.0..1000.0)");
  EXPECT_EQ(reason(with("bitrate_kbps", R"("fast")")),
            "field \"bitrate_kbps\": expected a number, got string");
  EXPECT_EQ(reason(with("ts", R"("yesterday")")),
            "field \"ts\": not an RFC 3339 timestamp: \"yesterday\"");
  EXPECT_EQ(reason(with("started_at", R"("2026-02-30T00:00:00Z")")),
            "field \"started_at\": not an RFC 3339 timestamp: \"2026-02-30T00:00:00Z\"");
  EXPECT_EQ(reason(with("title", "\"" + std::string(5000, 'x') + "\"")),
            "field \"title\": too long: 5000 bytes (limit 4096)");
}

TEST(SampleCodec, RejectsOversizedPayloadBeforeParsing) {
  std::string big = with("title", "\"x\"");
  big.append(k_max_payload_bytes, ' ');
  EXPECT_EQ(reason(big),
            "payload too large: " + std::to_string(big.size()) + " bytes (limit 65536)");
}

TEST(SampleCodec, AcceptsOffsetsAndNormalisesToUtc) {
  const auto r = decode_sample(with("ts", R"("2026-11-25T02:00:00.5+01:00")"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(format_rfc3339(r->ts), "2026-11-25T01:00:00.500Z");
}

TEST(StatusCodec, RoundTripsBirthWillAndShutdown) {
  Status online{"online", std::nullopt,
                "0.1.0",  TimePoint{sys_days{2026y / November / 1}},
                3,        TimePoint{sys_days{2026y / November / 2}}};
  EXPECT_EQ(*decode_status(encode_status(online)), online);
  Status will{"offline"};
  EXPECT_EQ(encode_status(will), R"({"state":"offline"})");
  Status shutdown{"offline", "shutdown"};
  EXPECT_EQ(encode_status(shutdown), R"({"state":"offline","reason":"shutdown"})");
  EXPECT_EQ(decode_status(R"({"state":"sleeping"})").error(),
            "field \"state\": expected \"online\" or \"offline\", got \"sleeping\"");
}

TEST(HealthCodec, RoundTripsAndReportsNestedErrors) {
  Health h;
  h.ts = TimePoint{sys_days{2026y / November / 25}};
  h.buffer_depth = 10;
  h.buffer_bytes = 2048;
  h.oldest_unsent_age_s = 12.5;
  h.dropped = 1;
  h.last_seq = 99;
  h.sources.push_back({"rtmp", "nginx_rtmp", h.ts, 5, 1, 0, "HTTP 500"});
  h.sources.push_back({"studio", "http_json", std::nullopt, 0, 0, 0, std::nullopt});
  EXPECT_EQ(*decode_health(encode_health(h)), h);
  EXPECT_EQ(
      decode_health(
          R"({"ts":"2026-11-25T00:00:00Z","buffer":{"depth":-1,"bytes":0,"dropped":0},"sources":[]})")
          .error(),
      "field \"buffer.depth\": out of range: -1 (expected 0..9007199254740991)");
  EXPECT_EQ(
      decode_health(
          R"({"ts":"2026-11-25T00:00:00Z","buffer":{"depth":1,"bytes":0,"dropped":0},"sources":[{"name":"x"}]})")
          .error(),
      "missing required field \"sources[0].type\"");
}

TEST(AckCodec, RoundTripsRangesAndRejectsBadOnes) {
  Ack a{{{1, 5}, {7, 7}}};
  EXPECT_EQ(encode_ack(a), R"({"ranges":[[1,5],[7,7]]})");
  EXPECT_EQ(*decode_ack(encode_ack(a)), a);
  EXPECT_EQ(decode_ack(R"({"ranges":[[5,1]]})").error(),
            "field \"ranges[0]\": out of range: [5, 1]");
  EXPECT_EQ(decode_ack(R"({"ranges":[[1]]})").error(),
            "field \"ranges[0]\": expected [first, last] integers");
  EXPECT_EQ(decode_ack(R"({"ranges":{}})").error(),
            "field \"ranges\": expected an array, got object");
  EXPECT_EQ(decode_ack(R"({})").error(), "missing required field \"ranges\"");
}

TEST(AckCodec, ToRangesCollapsesSeqs) {
  EXPECT_EQ(to_ranges({5, 1, 2, 3, 3, 9, 10, 7}),
            (std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 3}, {5, 5}, {7, 7}, {9, 10}}));
  EXPECT_TRUE(to_ranges({}).empty());
}

TEST(AckCodec, MergeRangesSortsAndJoinsOverlappingAndTouchingRanges) {
  using Ranges = std::vector<std::pair<std::int64_t, std::int64_t>>;
  EXPECT_EQ(merge_ranges({{9, 10}, {1, 3}, {4, 4}, {2, 2}, {12, 20}, {15, 16}, {7, 7}}),
            (Ranges{{1, 4}, {7, 7}, {9, 10}, {12, 20}}));
  EXPECT_EQ(merge_ranges({{1, 1}, {1, 1}}), (Ranges{{1, 1}}));
  EXPECT_TRUE(merge_ranges({}).empty());
}

}  // namespace
TEST(ValidText, ReplacesWhatIsNotUtf8AndNulAndKeepsTheRest) {
  EXPECT_EQ(valid_text("plain"), "plain");
  EXPECT_EQ(valid_text("caf\xc3\xa9 \xf0\x9f\x8e\xae"), "caf\xc3\xa9 \xf0\x9f\x8e\xae");
  EXPECT_EQ(valid_text("caf\xe9"), "caf\xef\xbf\xbd");
  EXPECT_EQ(valid_text("bad\xff\xfe"), "bad\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(valid_text(std::string("a\0b", 3)),
            "a\xef\xbf\xbd"
            "b");
  EXPECT_EQ(valid_text("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // surrogate
}

TEST(ValidText, ASampleWithAnyBytesEncodesToJsonThatDecodesToTheSameSample) {
  Sample s;
  s.agent = "rig";
  s.seq = 1;
  s.platform = "nginx_rtmp";
  s.channel = std::string("live/\xff\0\xc2\x85", 9);
  s.title = "t\xe9tle";
  s.video_codec = std::string("\0", 1);
  make_text_valid(s);
  const auto decoded = decode_sample(encode_sample(s));
  ASSERT_TRUE(decoded) << decoded.error();
  EXPECT_EQ(*decoded, s);
  EXPECT_EQ(s.channel, "live/\xef\xbf\xbd\xef\xbf\xbd\xc2\x85");
}

// sample_problem promises decode_sample(encode_sample(s))'s verdict and reason without the JSON.
TEST(SampleProblem, GivesTheDecodersVerdictAndReasonForEveryField) {
  using Mutation = void (*)(Sample&);
  const std::vector<std::pair<const char*, Mutation>> cases = {
      {"valid", [](Sample&) {}},
      {"empty agent", [](Sample& s) { s.agent.clear(); }},
      {"long agent", [](Sample& s) { s.agent = std::string(257, 'a'); }},
      {"agent at the limit", [](Sample& s) { s.agent = std::string(256, 'a'); }},
      {"NUL in channel", [](Sample& s) { s.channel = std::string("a\0b", 3); }},
      {"empty platform", [](Sample& s) { s.platform.clear(); }},
      {"empty stream_id", [](Sample& s) { s.stream_id = ""; }},
      {"long title", [](Sample& s) { s.title = std::string(4097, 't'); }},
      {"title at the limit", [](Sample& s) { s.title = std::string(4096, '\x01'); }},
      {"long category", [](Sample& s) { s.category = std::string(5000, 'c'); }},
      {"long codec", [](Sample& s) { s.audio_codec = std::string(300, 'x'); }},
      {"negative viewers", [](Sample& s) { s.viewers = -1; }},
      {"viewers over int32", [](Sample& s) { s.viewers = std::int64_t{1} << 31; }},
      {"negative chatters", [](Sample& s) { s.chatters = -3; }},
      {"chat over int32", [](Sample& s) { s.chat_messages = std::int64_t{1} << 40; }},
      {"dropped frames over 2^53", [](Sample& s) { s.dropped_frames = std::int64_t{1} << 54; }},
      {"wide", [](Sample& s) { s.width = 65536; }},
      {"negative height", [](Sample& s) { s.height = -1; }},
      {"fps over 1000", [](Sample& s) { s.fps = 1000.5; }},
      {"negative bitrate", [](Sample& s) { s.bitrate_kbps = -0.5; }},
      {"NaN fps", [](Sample& s) { s.fps = std::nan(""); }},
      {"infinite bitrate", [](Sample& s) { s.bitrate_kbps = HUGE_VAL; }},
      {"year 10000", [](Sample& s) { s.ts = sys_days{year{10000} / January / 1}; }},
      {"year -1 start", [](Sample& s) { s.started_at = sys_days{year{-1} / January / 1}; }},
      {"two problems: first wins",
       [](Sample& s) {
         s.viewers = -1;
         s.title = std::string(5000, 't');
       }},
  };
  int refused = 0;
  for (const auto& [name, mutate] : cases) {
    Sample s = full_sample();
    mutate(s);
    const auto decoded = decode_sample(encode_sample(s));
    const auto problem = sample_problem(s);
    EXPECT_EQ(problem.has_value(), !decoded.ok()) << name;
    if (problem && !decoded.ok()) {
      EXPECT_EQ(*problem, decoded.error()) << name;
      ++refused;
    }
    if (!problem) {
      EXPECT_LE(encode_sample(s).size(), k_max_payload_bytes) << name;
    }
  }
  EXPECT_EQ(refused, 21);  // every case but the valid ones and those at the limits
}

TEST(SampleProblem, TheLargestAcceptedSampleFitsInOnePayload) {
  Sample s = full_sample();
  const std::string name(256, '\x01');  // each byte becomes \u0001: six bytes of JSON
  const std::string text(4096, '\x01');
  s.agent = s.platform = s.channel = name;
  s.stream_id = s.video_codec = s.audio_codec = name;
  s.title = s.category = text;
  ASSERT_FALSE(sample_problem(s).has_value());
  EXPECT_LE(encode_sample(s).size(), k_max_payload_bytes);
  EXPECT_TRUE(decode_sample(encode_sample(s)).ok());
}

TEST(SampleProblem, InvalidUtf8IsRefusedAndRepairedTextAccepted) {
  Sample s = full_sample();
  s.title = "t\xe9tle";
  EXPECT_EQ(sample_problem(s), std::optional<std::string>("field \"title\": not valid UTF-8"));
  make_text_valid(s);
  EXPECT_FALSE(sample_problem(s).has_value());
}

// The encoder writes JSON directly; its bytes must be those of nlohmann's dump of the same tree.
std::string reference_encoding(const Sample& s) {
  nlohmann::ordered_json j;
  j["schema"] = Sample::k_schema;
  j["agent"] = s.agent;
  j["seq"] = s.seq;
  j["ts"] = format_rfc3339(s.ts);
  j["platform"] = s.platform;
  j["channel"] = s.channel;
  j["live"] = s.live;
  if (s.viewers) j["viewers"] = *s.viewers;
  if (s.stream_id) j["stream_id"] = *s.stream_id;
  if (s.title) j["title"] = *s.title;
  if (s.category) j["category"] = *s.category;
  if (s.started_at) j["started_at"] = format_rfc3339(*s.started_at);
  if (s.chat_messages) j["chat_messages"] = *s.chat_messages;
  if (s.chatters) j["chatters"] = *s.chatters;
  if (s.bitrate_kbps) j["bitrate_kbps"] = *s.bitrate_kbps;
  if (s.fps) j["fps"] = *s.fps;
  if (s.dropped_frames) j["dropped_frames"] = *s.dropped_frames;
  if (s.width) j["width"] = *s.width;
  if (s.height) j["height"] = *s.height;
  if (s.video_codec) j["video_codec"] = *s.video_codec;
  if (s.audio_codec) j["audio_codec"] = *s.audio_codec;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

TEST(SampleCodec, EncodesTheSameBytesAsTheJsonTreeForEveryKindOfValue) {
  std::vector<Sample> cases;
  cases.push_back(full_sample());
  Sample minimal;
  minimal.agent = "a";
  minimal.seq = 1;
  minimal.platform = "p";
  minimal.channel = "c";
  cases.push_back(minimal);
  Sample text = full_sample();
  text.title = std::string("quote\" back\\ slash\b\f\n\r\t nul") + std::string(1, '\0') +
               "\x01\x1f\x7f é ✓ 😀 </script>";
  text.channel = "live/a+b#c/d";
  text.category = "";
  cases.push_back(text);
  Sample numbers = full_sample();
  numbers.bitrate_kbps = 0.0001;
  numbers.fps = 30.0;
  numbers.viewers = 2147483647;
  numbers.dropped_frames = (std::int64_t{1} << 53) - 1;
  numbers.seq = -5;
  cases.push_back(numbers);
  Sample odd = full_sample();
  odd.bitrate_kbps = std::nan("");
  odd.fps = 1e300;
  odd.width = -1;
  cases.push_back(odd);
  Sample invalid = full_sample();
  invalid.title = "t\xe9tle";  // not UTF-8: replaced as the tree does
  cases.push_back(invalid);
  for (const auto& s : cases) EXPECT_EQ(encode_sample(s), reference_encoding(s));
}

}  // namespace streamtrack::wire
