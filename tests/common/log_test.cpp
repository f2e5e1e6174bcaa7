#include "common/daemon/log.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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

}  // namespace
}  // namespace streamtrack
