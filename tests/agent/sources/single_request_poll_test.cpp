// SingleRequestPoll, the state machine of every one-GET source, with canned outcomes (no
// socket): one request, then the parser's result or one precise error.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/sources/source.hpp"
#include "tests/agent/sources/canned.hpp"

namespace streamtrack::testing {
namespace {

using agent::sources::BodyKind;
using agent::sources::PollResult;
using agent::sources::SingleRequestSource;

struct Parsed {
  std::vector<std::string> bodies;
  std::vector<TimePoint> times;
};

SingleRequestSource source(Parsed& parsed, BodyKind kind = BodyKind::json) {
  agent::http::Request request;
  request.url = "http://127.0.0.1:1/status";
  request.headers.emplace_back("Authorization", "Bearer t");
  return SingleRequestSource(request, kind, [&parsed](std::string_view body, TimePoint now) {
    parsed.bodies.emplace_back(body);
    parsed.times.push_back(now);
    Sample s;
    s.channel = "main";
    s.live = true;
    return PollResult(std::vector<Sample>{s});
  });
}

TEST(SingleRequestPoll, OneRequestThenWhatTheParserMakesOfTheBody) {
  ManualClock clock(*parse_rfc3339("2030-01-01T00:00:00Z"));
  Parsed parsed;
  auto src = source(parsed);
  const auto poll = run_canned(src, clock, {canned_json(200, R"({"online":true})")});
  ASSERT_TRUE(poll.result) << poll.result.error();
  ASSERT_EQ(poll.requests.size(), 1U);
  EXPECT_EQ(poll.requests[0].url, "http://127.0.0.1:1/status");
  EXPECT_EQ(poll.header(0, "Authorization"), "Bearer t");
  EXPECT_EQ(poll.result->at(0).channel, "main");
  EXPECT_EQ(parsed.bodies, std::vector<std::string>{R"({"online":true})"});
  EXPECT_EQ(parsed.times, std::vector<TimePoint>{clock.now()});

  // Each poll starts over with the same request.
  clock.advance(std::chrono::seconds{10});
  const auto again = run_canned(src, clock, {canned_json(200, "{}")});
  ASSERT_EQ(again.requests.size(), 1U);
  EXPECT_EQ(parsed.times.back(), clock.now());
}

TEST(SingleRequestPoll, StatusContentTypeAndTransportErrorsNeverReachTheParser) {
  ManualClock clock(*parse_rfc3339("2030-01-01T00:00:00Z"));
  Parsed parsed;
  auto src = source(parsed);
  const auto server_error =
      run_canned(src, clock, {canned_json(503, R"({"message":"maintenance"})")});
  ASSERT_FALSE(server_error.result);
  EXPECT_EQ(server_error.result.error(), "HTTP 503: maintenance");

  auto html = canned_json(200, "<html></html>");
  html->content_type = "text/html";
  const auto wrong_type = run_canned(src, clock, {std::move(html)});
  ASSERT_FALSE(wrong_type.result);
  EXPECT_EQ(wrong_type.result.error(), "expected JSON, got content type \"text/html\"");

  const auto refused = run_canned(src, clock, {canned_failure("connection refused")});
  ASSERT_FALSE(refused.result);
  EXPECT_EQ(refused.result.error(), "connection refused");
  EXPECT_TRUE(parsed.bodies.empty());

  Parsed xml_parsed;
  auto xml = source(xml_parsed, BodyKind::xml);
  const auto json_for_xml = run_canned(xml, clock, {canned_json(200, "{}")});
  ASSERT_FALSE(json_for_xml.result);
  EXPECT_EQ(json_for_xml.result.error(), "expected XML, got content type \"application/json\"");
}

}  // namespace
}  // namespace streamtrack::testing
