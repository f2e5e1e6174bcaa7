#include <curl/curl.h>
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "tests/support/harness.hpp"

namespace streamtrack::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Reply {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::string headers;
  long new_connections = 0;
};

std::size_t append(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// One request on `handle` (reused handles keep their connection alive).
Reply perform(CURL* handle, const std::string& url, std::chrono::milliseconds timeout = 30s,
              const std::string& post_body = {}, const std::vector<std::string>& headers = {}) {
  Reply reply;
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &append);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, &append);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &reply.headers);
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  if (!post_body.empty()) {
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, post_body.c_str());
  } else {
    curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
  }
  reply.code = curl_easy_perform(handle);
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_easy_getinfo(handle, CURLINFO_NUM_CONNECTS, &reply.new_connections);
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(list);
  return reply;
}

Reply get(const std::string& url, std::chrono::milliseconds timeout = 30s,
          const std::string& post_body = {}, const std::vector<std::string>& headers = {}) {
  CURL* handle = curl_easy_init();
  Reply reply = perform(handle, url, timeout, post_body, headers);
  curl_easy_cleanup(handle);
  return reply;
}

HttpFixtureServer::Response response(int status, std::string body) {
  HttpFixtureServer::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

TEST(HttpFixtureServerTest, AnswersRoutesAndReports404ForOthers) {
  HttpFixtureServer server;
  EXPECT_EQ(server.url("/x"), "http://127.0.0.1:" + std::to_string(server.port()) + "/x");
  auto r = response(201, R"({"ok":true})");
  r.headers["X-Ratelimit-Remaining"] = "799";
  server.route("/api/thing", r);

  auto reply = get(server.url("/api/thing?ignored=1"));
  ASSERT_EQ(reply.code, CURLE_OK) << curl_easy_strerror(reply.code);
  EXPECT_EQ(reply.status, 201);
  EXPECT_EQ(reply.body, R"({"ok":true})");
  EXPECT_NE(reply.headers.find("Content-Type: application/json"), std::string::npos)
      << reply.headers;
  EXPECT_NE(reply.headers.find("X-Ratelimit-Remaining: 799"), std::string::npos) << reply.headers;

  auto missing = get(server.url("/api/other"));
  EXPECT_EQ(missing.status, 404);

  server.route("/api/thing", response(500, "replaced"));
  EXPECT_EQ(get(server.url("/api/thing")).body, "replaced");
}

TEST(HttpFixtureServerTest, SequenceRepeatsItsLastResponse) {
  HttpFixtureServer server;
  server.route_sequence("/seq", {response(503, "a"), response(429, "b"), response(200, "c")});
  std::vector<std::pair<long, std::string>> seen;
  for (int i = 0; i < 5; ++i) {
    auto reply = get(server.url("/seq"));
    seen.emplace_back(reply.status, reply.body);
  }
  std::vector<std::pair<long, std::string>> expected{
      {503, "a"}, {429, "b"}, {200, "c"}, {200, "c"}, {200, "c"}};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(server.request_count("/seq"), 5u);
}

TEST(HttpFixtureServerTest, RecordsMethodPathQueryHeadersAndBody) {
  HttpFixtureServer server;
  server.route("/ingest", response(200, "{}"));
  get(server.url("/ingest?a=1&b=two"), 30s, R"({"x":1})",
      {"Authorization: Bearer secret", "X-Mixed-Case: Value", "Content-Type: application/json"});
  get(server.url("/elsewhere"));

  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/ingest");
  EXPECT_EQ(requests[0].query, "a=1&b=two");
  EXPECT_EQ(requests[0].body, R"({"x":1})");
  EXPECT_EQ(requests[0].headers["authorization"], "Bearer secret");
  EXPECT_EQ(requests[0].headers["x-mixed-case"], "Value");
  EXPECT_EQ(requests[0].headers.count("X-Mixed-Case"), 0u);
  EXPECT_EQ(requests[1].method, "GET");
  EXPECT_EQ(requests[1].path, "/elsewhere");
  EXPECT_EQ(requests[1].query, "");
  EXPECT_EQ(server.request_count("/ingest"), 1u);
  EXPECT_EQ(server.request_count("/elsewhere"), 1u);

  server.clear_requests();
  EXPECT_TRUE(server.requests().empty());
  EXPECT_EQ(server.request_count("/ingest"), 0u);
}

TEST(HttpFixtureServerTest, DelayMakesAShortClientTimeoutFire) {
  HttpFixtureServer server;
  auto slow = response(200, "late");
  slow.delay = 3s;
  server.route("/slow", slow);
  auto timed_out = get(server.url("/slow"), 200ms);
  EXPECT_EQ(timed_out.code, CURLE_OPERATION_TIMEDOUT);

  auto short_delay = response(200, "soon");
  short_delay.delay = 100ms;
  server.route("/soon", short_delay);
  auto start = Clock::now();
  auto reply = get(server.url("/soon"));
  EXPECT_EQ(reply.body, "soon");
  EXPECT_GE(Clock::now() - start, 100ms);
}

TEST(HttpFixtureServerTest, KeepsConnectionsAlive) {
  HttpFixtureServer server;
  server.route("/a", response(200, "1"));
  CURL* handle = curl_easy_init();
  auto first = perform(handle, server.url("/a"));
  auto second = perform(handle, server.url("/a"));
  curl_easy_cleanup(handle);
  EXPECT_EQ(first.new_connections, 1);
  EXPECT_EQ(second.new_connections, 0);  // reused the first connection
  EXPECT_EQ(second.body, "1");
}

TEST(HttpFixtureServerTest, HangingRequestsAreHeldConcurrentlyAndReleasedOnDestruction) {
  constexpr int k_clients = 40;
  std::vector<std::future<Reply>> replies;
  Clock::time_point destroyed;
  {
    HttpFixtureServer server;
    auto hang = response(200, "never");
    hang.hang = true;
    server.route("/hang", hang);
    server.route("/fine", response(200, "fine"));
    for (int i = 0; i < k_clients; ++i) {
      replies.push_back(std::async(std::launch::async, [url = server.url("/hang")] {
        return get(url, std::chrono::milliseconds(k_event_timeout));
      }));
    }
    // All clients are inside the server at once, and it still answers others.
    ASSERT_TRUE(wait_until([&] { return server.request_count("/hang") == k_clients; }));
    EXPECT_EQ(get(server.url("/fine")).body, "fine");
    destroyed = Clock::now();
  }
  EXPECT_LT(Clock::now() - destroyed, 10s);
  for (auto& f : replies) {
    auto reply = f.get();
    EXPECT_NE(reply.body, "never");
  }
}

TEST(HttpFixtureServerTest, FixtureReadsUnderTestsFixtures) {
  fs::path root = source_dir() / "tests" / "fixtures";
  std::optional<fs::path> some_file;
  if (fs::exists(root)) {
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      if (entry.is_regular_file()) {
        some_file = entry.path();
        break;
      }
    }
  }
  if (!some_file) GTEST_SKIP() << "no fixture files yet";
  auto relative = fs::relative(*some_file, root).string();
  EXPECT_EQ(HttpFixtureServer::fixture(relative), read_file(*some_file));
  EXPECT_THROW(HttpFixtureServer::fixture("no/such/fixture.json"), std::runtime_error);
}

}  // namespace
}  // namespace streamtrack::testing
