// The webhook sink's delivery rules against a fake HTTP client: order, retries of transient
// failures, give-ups, and an attempt in flight aborted at shutdown.
#include "collector/alerts/sinks/webhook_sink.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>

#include "tests/support/harness.hpp"

namespace streamtrack::collector::alerts::sinks {
namespace {

using namespace std::chrono_literals;

// Answers each post with the next scripted reply (200 when the script is empty) and keeps what
// it was asked. A `hang` entry waits until the sink aborts.
class FakePoster final : public HttpPoster {
 public:
  struct Step {
    std::optional<long> status;  // nullopt: a transport error
    bool hang = false;
  };
  explicit FakePoster(std::deque<Step> script) : m_script(std::move(script)) {}

  Result<HttpReply> post(const HttpPost& request, const std::atomic<bool>& abort) override {
    Step step{200};
    {
      std::lock_guard lock(m_mutex);
      m_requests.push_back(request);
      if (!m_script.empty()) {
        step = m_script.front();
        m_script.pop_front();
      }
    }
    if (step.hang) {
      while (!abort.load()) std::this_thread::yield();
      return Result<HttpReply>::failure("Callback aborted");
    }
    if (!step.status) return Result<HttpReply>::failure("Couldn't connect to server");
    return HttpReply{*step.status, *step.status >= 300 ? "nope" : ""};
  }

  std::vector<HttpPost> requests() const {
    std::lock_guard lock(m_mutex);
    return m_requests;
  }

 private:
  mutable std::mutex m_mutex;
  std::deque<Step> m_script;
  std::vector<HttpPost> m_requests;
};

WebhookConfig config() {
  WebhookConfig c;
  c.name = "ops";
  c.url = "http://127.0.0.1:9/hook";
  c.timeout = 2s;
  c.retry_for = 1min;
  c.headers = {{"X-Team", "video"}};
  return c;
}

Notification note(const std::string& channel) {
  Notification n;
  n.alert.rule = "drop";
  n.alert.key = {"twitch", channel};
  n.alert.state = AlertState::firing;
  n.collector = "c1";
  return n;
}

TEST(WebhookSink, PostsEachNotificationInOrderWithItsHeaders) {
  auto fake = std::make_unique<FakePoster>(std::deque<FakePoster::Step>{});
  auto* http = fake.get();
  WebhookSink sink(config(), 5min, std::move(fake));
  sink.deliver(note("foo"));
  sink.deliver(note("bar"));
  ASSERT_TRUE(streamtrack::testing::wait_until([&] { return sink.counters().sent == 2; }));
  const auto sent = http->requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].url, "http://127.0.0.1:9/hook");
  EXPECT_EQ(sent[0].timeout, 2s);
  EXPECT_EQ(sent[0].headers, (std::map<std::string, std::string>{{"X-Team", "video"}}));
  EXPECT_EQ(nlohmann::json::parse(sent[0].body).at("key")[1], "foo");
  EXPECT_EQ(nlohmann::json::parse(sent[1].body).at("key")[1], "bar");
  EXPECT_EQ(sink.counters().retries, 0u);
}

TEST(WebhookSink, RetriesTransportErrorsAndServerErrorsThenDelivers) {
  auto fake = std::make_unique<FakePoster>(
      std::deque<FakePoster::Step>{{std::nullopt}, {503}, {429}, {200}});
  auto* http = fake.get();
  WebhookSink sink(config(), 5min, std::move(fake));
  sink.deliver(note("foo"));
  ASSERT_TRUE(streamtrack::testing::wait_until([&] { return sink.counters().sent == 1; }, 30s));
  EXPECT_EQ(sink.counters().retries, 3u);
  EXPECT_EQ(sink.counters().failed, 0u);
  EXPECT_EQ(http->requests().size(), 4u);
}

TEST(WebhookSink, GivesUpAtOnceOnAClientError) {
  auto fake = std::make_unique<FakePoster>(std::deque<FakePoster::Step>{{400}});
  auto* http = fake.get();
  WebhookSink sink(config(), 5min, std::move(fake));
  sink.deliver(note("foo"));
  sink.deliver(note("bar"));
  ASSERT_TRUE(streamtrack::testing::wait_until([&] { return sink.counters().sent == 1; }));
  EXPECT_EQ(sink.counters().failed, 1u);
  EXPECT_EQ(sink.counters().retries, 0u);
  const auto sent = http->requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(sent[1].body).at("key")[1], "bar");
}

TEST(WebhookSink, ShutdownAbortsAnAttemptInFlight) {
  auto fake = std::make_unique<FakePoster>(std::deque<FakePoster::Step>{{200, true}});
  auto* http = fake.get();
  auto sink = std::make_unique<WebhookSink>(config(), 5min, std::move(fake));
  sink->deliver(note("foo"));
  ASSERT_TRUE(streamtrack::testing::wait_until([&] { return http->requests().size() == 1; }));
  sink.reset();  // returns only when the hanging post saw the abort
  SUCCEED();
}

}  // namespace
}  // namespace streamtrack::collector::alerts::sinks
