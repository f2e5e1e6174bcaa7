#include <gtest/gtest.h>

#include <algorithm>

#include "agent/engine/poll_engine.hpp"
#include "tests/agent/engine/engine_support.hpp"

namespace streamtrack::testing {
namespace {

TEST(PollEngine, PollsOnTheSourceIntervalByTheEngineClock) {
  HttpFixtureServer server;
  server.route("/a", ok_body());
  ManualClock clock(*parse_rfc3339("2026-01-01T00:00:00Z"));
  agent::PollEngine engine(agent_config(json_source("a", server.url("/a"), "10s")), clock);
  EXPECT_EQ(engine.health().at(0).polls, 0);
  EXPECT_LE(engine.time_until_next_poll(), 1000ms);  // the first poll comes soon

  clock.advance(1000ms);
  std::vector<Sample> samples;
  ASSERT_TRUE(step_until(
      engine, [&] { return engine.health().at(0).polls == 1; }, &samples));
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].ts, clock.now());
  EXPECT_EQ(samples[0].agent, "test-agent");
  EXPECT_EQ(samples[0].seq, 0);
  EXPECT_EQ(samples[0].viewers, 3);

  // Not due again before the interval (plus at most 10% jitter) has passed.
  const auto wait = engine.time_until_next_poll();
  EXPECT_GE(wait, 8000ms);
  EXPECT_LE(wait, 11000ms);
  for (int i = 0; i < 5; ++i) engine.step(20ms);
  EXPECT_EQ(server.request_count("/a"), 1u);

  clock.advance(wait);
  ASSERT_TRUE(step_until(engine, [&] { return engine.health().at(0).polls == 2; }));
  EXPECT_EQ(server.request_count("/a"), 2u);
}

TEST(PollEngine, EachPollIsJitteredFromItsSlotAndTheJitterNeverAccumulates) {
  HttpFixtureServer server;
  server.route("/a", ok_body());
  ManualClock clock(*parse_rfc3339("2026-01-01T00:00:00Z"));
  agent::PollEngine engine(agent_config(json_source("a", server.url("/a"), "10s")), clock,
                           {.seed = 11});
  const auto first = clock.now();
  for (std::int64_t k = 1; k <= 30; ++k) {
    clock.advance(engine.time_until_next_poll());
    std::vector<Sample> samples;
    ASSERT_TRUE(step_until(
        engine, [&] { return engine.health().at(0).polls == k; }, &samples));
    ASSERT_EQ(samples.size(), 1u);
    // Poll k starts in the k-th interval after the first slot, within its jitter (10 %).
    const auto since = std::chrono::duration_cast<std::chrono::milliseconds>(samples[0].ts - first);
    EXPECT_GE(since, (k - 1) * 10'000ms) << "poll " << k;
    EXPECT_LE(since, (k - 1) * 10'000ms + 1000ms) << "poll " << k;
  }
}

TEST(PollEngine, PollsDueWithinOnePercentOfTheirIntervalStartInOneWakeUp) {
  constexpr int k_sources = 40;
  HttpFixtureServer server;
  server.route("/a", ok_body());
  std::string toml;
  for (int i = 0; i < k_sources; ++i) {
    toml += json_source("s" + std::to_string(i), server.url("/a"), "60s");
  }
  ManualClock clock(*parse_rfc3339("2026-01-01T00:00:00Z"));
  agent::PollEngine engine(agent_config(toml), clock, {.seed = 5});
  const auto polled = [&](std::int64_t n) {
    const auto h = engine.health();
    return std::all_of(h.begin(), h.end(), [n](const auto& s) { return s.polls >= n; });
  };
  for (std::int64_t round = 1; round <= 3; ++round) {
    int wake_ups = 0;
    while (!polled(round)) {
      const auto wait = engine.time_until_wake();
      // Never later than 600 ms (1 % of 60 s) after the earliest due poll.
      EXPECT_LE(wait, engine.time_until_next_poll() + 600ms);
      clock.advance(wait);
      ++wake_ups;
      engine.step(0ms);  // starts what is due
      ASSERT_TRUE(step_until(engine, [&] { return engine.requests_in_flight() == 0; }));
    }
    // The first polls come within 100 ms: one wake-up. Later ones are jittered over 6 s (10 %
    // of the interval) and each wake-up takes every poll due within 600 ms of the first.
    EXPECT_LE(wake_ups, round == 1 ? 1 : 11) << "round " << round;
  }
}

TEST(PollEngine, FailuresBackOffWithinTheCapAndResetOnSuccess) {
  HttpFixtureServer server;
  server.route_sequence(
      "/a", {server_error(), server_error(), server_error(), server_error(), ok_body()});
  ManualClock clock(*parse_rfc3339("2026-01-01T00:00:00Z"));
  const agent::PollEngine::Options options{
      .backoff_base = 1000ms, .backoff_cap = 4000ms, .seed = 7};
  agent::PollEngine engine(agent_config(json_source("a", server.url("/a"), "1s")), clock, options);
  Backoff bounds(1000ms, 4000ms);
  for (std::int64_t failure = 1; failure <= 4; ++failure) {
    clock.advance(engine.time_until_next_poll());
    ASSERT_TRUE(step_until(engine, [&] { return engine.health().at(0).polls == failure; }));
    const auto h = engine.health().at(0);
    EXPECT_EQ(h.errors, failure);
    EXPECT_EQ(h.consecutive_errors, failure);
    EXPECT_EQ(h.last_error, "HTTP 500: boom");
    EXPECT_FALSE(h.last_success);
    // Next poll: the next slot of the interval plus a full-jitter delay under the ceiling.
    EXPECT_LE(engine.time_until_next_poll(),
              1000ms + bounds.ceiling_for(static_cast<std::uint32_t>(failure)));
  }
  clock.advance(engine.time_until_next_poll());
  ASSERT_TRUE(step_until(engine, [&] { return engine.health().at(0).polls == 5; }));
  const auto h = engine.health().at(0);
  EXPECT_EQ(h.errors, 4);
  EXPECT_EQ(h.consecutive_errors, 0);
  EXPECT_EQ(h.last_success, clock.now());
  EXPECT_EQ(h.last_error, "HTTP 500: boom");  // kept for the health message
  EXPECT_LE(engine.time_until_next_poll(), 1100ms);
}

TEST(PollEngine, AnUndecodableValueDropsThatSampleAloneAndIsCounted) {
  HttpFixtureServer server;
  server.route("/bad", ok_body("{\"online\":true,\"viewers\":99999999999}"));
  server.route("/good", ok_body("{\"online\":true,\"viewers\":3}"));
  agent::PollEngine engine(agent_config(json_source("bad", server.url("/bad")) +
                                        json_source("good", server.url("/good"))),
                           SystemClock::instance());
  std::vector<Sample> samples;
  std::vector<agent::PollEngine::PollReport> reports;
  ASSERT_TRUE(step_until(
      engine,
      [&] {
        for (auto& r : engine.take_reports()) reports.push_back(r);
        return reports.size() >= 2;
      },
      &samples));
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].channel, "good");
  for (const auto& r : reports) {
    EXPECT_TRUE(r.ok) << r.source;  // the poll itself worked
    EXPECT_EQ(r.rejected, r.source == "bad" ? 1u : 0u) << r.source;
  }
  for (const auto& h : engine.health()) EXPECT_EQ(h.errors, 0) << h.name;
}

TEST(PollEngine, AReadableExtraFdEndsAWaitingStep) {
  SilentListener silent;
  agent::PollEngine engine(agent_config(json_source("dead", silent.url(), "1s", "1m")),
                           SystemClock::instance());
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::write(fds[1], "x", 1), 1);
  int quiet[2];
  ASSERT_EQ(::pipe(quiet), 0);
  agent::http::WaitFd watched[] = {{fds[0]}, {quiet[0]}, {-1}};
  const auto start = std::chrono::steady_clock::now();
  engine.step(k_event_timeout, watched);
  engine.step(k_event_timeout, watched);
  EXPECT_LT(std::chrono::steady_clock::now() - start, k_event_timeout / 2);
  // What the wait saw, so that the caller reads only what is ready.
  EXPECT_TRUE(watched[0].ready);
  EXPECT_FALSE(watched[1].ready);
  EXPECT_FALSE(watched[2].ready);
  ::close(fds[0]);
  ::close(fds[1]);
  ::close(quiet[0]);
  ::close(quiet[1]);
}

TEST(PollEngine, OffersCompressionAndNamesItself) {
  HttpFixtureServer server;
  server.route("/a", ok_body());
  agent::PollEngine engine(agent_config(json_source("a", server.url("/a"), "100ms")),
                           SystemClock::instance());
  ASSERT_TRUE(step_until(engine, [&] { return engine.health().at(0).polls >= 2; }));
  const auto requests = server.requests();
  ASSERT_GE(requests.size(), 2u);
  EXPECT_NE(requests[0].headers.at("accept-encoding").find("gzip"), std::string::npos);
  EXPECT_EQ(requests[0].headers.at("user-agent").rfind("streamtrack-agent/", 0), 0u);
}

}  // namespace
}  // namespace streamtrack::testing
