// Every source type against the same broken servers: each failure is one counted error with a
// precise reason, and never a sample (not even an "offline" one for a listed stream).

#include <gtest/gtest.h>

#include "tests/agent/sources/poll_once.hpp"

namespace streamtrack::testing {
namespace {

struct TypeCase {
  std::string type;
  std::string path;
  std::string fixture;
  std::string content_type;
  std::string extra;  // keys the type needs (streams, fields)
  std::string kind;   // "JSON" or "XML"
};

std::ostream& operator<<(std::ostream& os, const TypeCase& c) {
  return os << c.type;
}

class SourceFailures : public ::testing::TestWithParam<TypeCase> {
 protected:
  PollOnce poll(const HttpFixtureServer::Response& response, const std::string& more = {},
                const std::string& timeout = "5s") {
    const auto& c = GetParam();
    m_server.route(c.path, response);
    return poll_once(agent_config(
        source_table(c.type, "src", m_server.url(c.path), more + "\n" + c.extra, timeout)));
  }
  HttpFixtureServer::Response good() const {
    return fixture_response(GetParam().fixture, GetParam().content_type);
  }
  static void expect_error(const PollOnce& result, const std::string& error) {
    EXPECT_TRUE(result.samples.empty());
    ASSERT_EQ(result.health.size(), 1u);
    EXPECT_EQ(result.only_health().polls, 1);
    EXPECT_EQ(result.only_health().errors, 1);
    EXPECT_EQ(result.only_health().consecutive_errors, 1);
    EXPECT_FALSE(result.only_health().last_success);
    EXPECT_EQ(result.only_health().last_error, error);
  }
  static void expect_error_prefix(const PollOnce& result, const std::string& prefix) {
    EXPECT_TRUE(result.samples.empty());
    ASSERT_TRUE(result.only_health().last_error);
    EXPECT_EQ(result.only_health().last_error->rfind(prefix, 0), 0u)
        << *result.only_health().last_error;
  }
  HttpFixtureServer m_server;
};

TEST_P(SourceFailures, GoodResponseSucceeds) {
  const auto result = poll(good());
  EXPECT_TRUE(result.ok()) << result.only_health().last_error.value_or("");
  EXPECT_FALSE(result.samples.empty());
}

TEST_P(SourceFailures, ServerError) {
  HttpFixtureServer::Response r;
  r.status = 500;
  r.content_type = "text/plain";
  r.body = "internal\nerror";
  expect_error(poll(r), "HTTP 500: internal error");
}

TEST_P(SourceFailures, WrongContentType) {
  auto r = good();
  r.content_type = "text/html; charset=utf-8";
  expect_error(poll(r),
               "expected " + GetParam().kind + ", got content type \"text/html; charset=utf-8\"");
}

TEST_P(SourceFailures, TruncatedBody) {
  auto r = good();
  r.body = r.body.substr(0, r.body.size() / 2);
  expect_error_prefix(poll(r), "invalid " + GetParam().kind + ": ");
}

TEST_P(SourceFailures, MalformedBody) {
  auto r = good();
  r.body = "<<<}}} not a document";
  expect_error_prefix(poll(r), "invalid " + GetParam().kind + ": ");
}

TEST_P(SourceFailures, EmptyBody) {
  auto r = good();
  r.body.clear();
  expect_error_prefix(poll(r), "invalid " + GetParam().kind + ": ");
}

TEST_P(SourceFailures, OversizedBody) {
  auto r = good();
  r.body += std::string(4096, ' ');
  expect_error(poll(r, "max_body_bytes = 1024"), "response body larger than max_body_bytes (1024)");
}

// libcurl hands a body over in pieces of its receive buffer (http::MultiClient sets it small):
// a body of many such pieces arrives whole, and the limit holds across them.
TEST_P(SourceFailures, ABodyOfManyReceiveBuffersArrivesWhole) {
  auto r = good();
  r.body += std::string(1 << 20, ' ');
  const auto result = poll(r);
  EXPECT_TRUE(result.ok()) << result.only_health().last_error.value_or("");
  EXPECT_EQ(result.samples.size(), poll(good()).samples.size());
}

TEST_P(SourceFailures, AChunkedBodyOfManyReceiveBuffersArrivesWhole) {
  auto r = good();
  r.body += std::string(300000, ' ');
  r.headers["Transfer-Encoding"] = "chunked";
  const auto result = poll(r, "max_body_bytes = 400000");
  EXPECT_TRUE(result.ok()) << result.only_health().last_error.value_or("");
  EXPECT_EQ(result.samples.size(), poll(good()).samples.size());
}

// Without a Content-Length (chunked) libcurl cannot refuse the body at its headers
// (CURLOPT_MAXFILESIZE_LARGE): the client counts the pieces as they arrive.
TEST_P(SourceFailures, OversizedBodyOfManyReceiveBuffers) {
  auto r = good();
  r.body += std::string(300000, ' ');
  r.headers["Transfer-Encoding"] = "chunked";
  expect_error(poll(r, "max_body_bytes = 200000"),
               "response body larger than max_body_bytes (200000)");
}

TEST_P(SourceFailures, Timeout) {
  auto r = good();
  r.delay = std::chrono::seconds(3);
  expect_error(poll(r, "", "300ms"), "timed out after 300ms");
}

TEST_P(SourceFailures, ConnectionRefused) {
  const auto& c = GetParam();
  const auto port = free_port();
  const auto result = poll_once(agent_config(
      source_table(c.type, "src", "http://127.0.0.1:" + std::to_string(port) + c.path, c.extra)));
  expect_error_prefix(result, "Failed to connect to 127.0.0.1 port " + std::to_string(port));
}

INSTANTIATE_TEST_SUITE_P(
    AllTypes, SourceFailures,
    ::testing::Values(TypeCase{"nginx_rtmp", "/stat", "nginx_rtmp/live.xml", "text/xml",
                               "streams = [\"live/mystream\", \"live/b\"]", "XML"},
                      TypeCase{"owncast", "/api/status", "owncast/live.json", "application/json",
                               "", "JSON"},
                      TypeCase{"mediamtx", "/v3/paths/list", "mediamtx/live.json",
                               "application/json", "streams = [\"mystream\", \"b\"]", "JSON"},
                      TypeCase{"srs", "/api/v1/streams", "srs/live.json", "application/json",
                               "streams = [\"live/livestream\", \"live/b\"]", "JSON"},
                      TypeCase{"icecast", "/status-json.xsl", "icecast/one_mount.json",
                               "application/json", "streams = [\"SharvaSG\", \"b\"]", "JSON"},
                      TypeCase{"http_json", "/status.json", "http_json/status.json",
                               "application/json", "[source.fields]\nlive = \"/online\"", "JSON"}),
    [](const auto& param_info) { return param_info.param.type; });

}  // namespace
}  // namespace streamtrack::testing
