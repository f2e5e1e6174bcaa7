#include "common/daemon/log.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/wire/utf8.hpp"

namespace streamtrack {
namespace {

// 2026-01-02T03:04:05.678Z
const auto k_now = std::chrono::system_clock::time_point{std::chrono::milliseconds{1767323045678}};

TEST(LogFormat, Names) {
  EXPECT_EQ(log::parse_format("journal"), log::Format::journal);
  EXPECT_EQ(log::parse_format("logfmt"), log::Format::logfmt);
  EXPECT_EQ(log::parse_format("json"), log::Format::json);
  EXPECT_EQ(log::parse_format("JSON"), std::nullopt);
}

TEST(LogFormat, JournalKeepsThePriorityPrefix) {
  EXPECT_EQ(log::format_line(log::Format::journal, log::Level::warning, "agent: x a=1", k_now),
            "<4>agent: x a=1");
}

TEST(LogFormat, LogfmtSplitsComponentMessageAndFields) {
  const std::string message =
      "mqtt: disconnected reason=" + log::quote("lost \"it\"") + " inflight=3 last_seq=9";
  EXPECT_EQ(log::format_line(log::Format::logfmt, log::Level::warning, message, k_now),
            "ts=2026-01-02T03:04:05.678Z level=warning component=mqtt msg=disconnected "
            "reason=\"lost \\\"it\\\"\" inflight=3 last_seq=9");
  EXPECT_EQ(log::format_line(log::Format::logfmt, log::Level::error,
                             "agent: reload refused: agent.toml:1:2: agent: id: must not be empty",
                             k_now),
            "ts=2026-01-02T03:04:05.678Z level=error component=agent msg=\"reload refused: "
            "agent.toml:1:2: agent: id: must not be empty\"");
  EXPECT_EQ(log::format_line(log::Format::logfmt, log::Level::info, "no component here", k_now),
            "ts=2026-01-02T03:04:05.678Z level=info msg=\"no component here\"");
}

TEST(LogFormat, JsonIsOneObjectPerLineWithEveryField) {
  const std::string message = "alerts: firing alert=" + log::quote("a b") +
                              " severity=warning summary=" + log::quote("line1\nline2");
  const auto line = log::format_line(log::Format::json, log::Level::notice, message, k_now);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j.at("ts"), "2026-01-02T03:04:05.678Z");
  EXPECT_EQ(j.at("level"), "notice");
  EXPECT_EQ(j.at("component"), "alerts");
  EXPECT_EQ(j.at("msg"), "firing");
  EXPECT_EQ(j.at("alert"), "a b");
  EXPECT_EQ(j.at("severity"), "warning");
  EXPECT_EQ(j.at("summary"), "line1\nline2");
}

TEST(LogFormat, JsonSurvivesInvalidUtf8AndFieldsNamedLikeItsOwn) {
  const auto line = log::format_line(log::Format::json, log::Level::info,
                                     std::string("web: x level=debug title=\xff\xfe"), k_now);
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j.at("level"), "info");
  EXPECT_EQ(j.at("field_level"), "debug");
  EXPECT_TRUE(j.contains("title"));
}

TEST(LogFormat, LogfmtRenamesFieldsNamedLikeItsOwnKeys) {
  EXPECT_EQ(log::format_line(log::Format::logfmt, log::Level::info,
                             "web: x level=debug ts=1 msg=hi component=c title=t", k_now),
            "ts=2026-01-02T03:04:05.678Z level=info component=web msg=x field_level=debug "
            "field_ts=1 field_msg=hi field_component=c title=t");
}

// True when `text` has no byte below 0x20, no DEL and is valid UTF-8 without C1 controls:
// nothing a terminal or log viewer would act on.
bool inert(const std::string& text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto d = wire::utf8::decode_at(text, i);
    if (d.length == 0 || d.code_point < 0x20 || (d.code_point >= 0x7f && d.code_point < 0xa0)) {
      return false;
    }
    i += d.length;
  }
  return true;
}

std::string escaped(unsigned char byte) {
  if (byte == '\n') return "\\n";
  if (byte == '\r') return "\\r";
  if (byte == '\t') return "\\t";
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(byte));
  return buf;
}

TEST(LogQuote, EveryByteIsPlainQuotedOrEscapedAndNothingRawReachesTheLine) {
  for (int b = 0; b < 256; ++b) {
    const auto byte = static_cast<unsigned char>(b);
    const std::string value = std::string("a") + static_cast<char>(byte) + "b";
    const auto quoted = log::quote(value);
    EXPECT_TRUE(inert(quoted)) << "byte " << b << ": " << quoted;
    if (byte < 0x20 || byte >= 0x7f) {
      // Control bytes, DEL, and any byte >= 0x80 alone (not UTF-8): escaped, quoted.
      EXPECT_EQ(quoted, "\"a" + escaped(byte) + "b\"") << "byte " << b;
    } else if (byte == ' ' || byte == '=') {
      EXPECT_EQ(quoted, "\"" + value + "\"") << "byte " << b;
    } else if (byte == '"' || byte == '\\') {
      EXPECT_EQ(quoted, std::string("\"a\\") + static_cast<char>(byte) + "b\"") << "byte " << b;
    } else {
      EXPECT_EQ(quoted, value) << "byte " << b;
    }
    // Through both structured formats: logfmt writes the same quoting again, and JSON stays
    // one valid object per line with the value (U+FFFD for a byte JSON cannot carry).
    const auto message = "ingest: rejected topic=" + quoted + " n=1";
    const auto logfmt = log::format_line(log::Format::logfmt, log::Level::info, message, k_now);
    EXPECT_EQ(logfmt,
              "ts=2026-01-02T03:04:05.678Z level=info component=ingest msg=rejected "
              "topic=" +
                  quoted + " n=1")
        << "byte " << b;
    const auto json = log::format_line(log::Format::json, log::Level::info, message, k_now);
    EXPECT_TRUE(inert(json)) << "byte " << b << ": " << json;
    const auto j = nlohmann::json::parse(json);
    EXPECT_EQ(j.at("topic"), byte < 0x80 ? value : std::string("a\uFFFDb")) << "byte " << b;
    EXPECT_EQ(j.at("n"), "1");
  }
}

TEST(LogQuote, ValidUtf8StaysReadableInvalidSequencesAndC1ControlsAreEscaped) {
  EXPECT_EQ(log::quote("caf\xc3\xa9/\xf0\x9f\x8e\xa5"), "caf\xc3\xa9/\xf0\x9f\x8e\xa5");
  EXPECT_EQ(log::quote(""), "\"\"");
  EXPECT_EQ(log::quote("plain"), "plain");
  // U+009B (CSI as a C1 control) is valid UTF-8 that some terminals still obey.
  EXPECT_EQ(log::quote("x\xc2\x9b"
                       "2J"),
            "\"x\\xc2\\x9b2J\"");
  // A truncated sequence, a surrogate, an overlong form: each byte on its own.
  EXPECT_EQ(log::quote("\xe2\x82"), "\"\\xe2\\x82\"");
  EXPECT_EQ(log::quote("\xed\xa0\x80"), "\"\\xed\\xa0\\x80\"");
  EXPECT_EQ(log::quote("\xc0\xaf"), "\"\\xc0\\xaf\"");
  // A forged line and a terminal escape stay inside one quoted value.
  EXPECT_EQ(log::quote("ok\r<3>collector: fake\x1b[2J"), "\"ok\\r<3>collector: fake\\x1b[2J\"");
  EXPECT_EQ(log::quote(std::string("a\0b", 3)), "\"a\\x00b\"");
}

}  // namespace
}  // namespace streamtrack
