// 200 sources on one agent, one of which never answers: the others keep their schedule.
// Asserts poll counts and gaps against the configured interval with wide tolerances, not speed.

#include <gtest/gtest.h>

#include <map>

#include "tests/agent/engine/engine_support.hpp"

namespace streamtrack::testing {
namespace {

TEST(PollSchedule, TwoHundredSourcesKeepTheirIntervalWhileOneNeverAnswers) {
  constexpr int k_sources = 200;
  constexpr int k_dead = 100;
  constexpr auto k_interval = 1000ms;
  constexpr auto k_run = 12s;

  // The fixture server has one thread per kept-alive connection (64), so the healthy sources
  // are spread over several servers; the engine itself keeps one connection per source.
  constexpr int k_servers = 5;
  std::vector<std::unique_ptr<HttpFixtureServer>> servers;
  for (int i = 0; i < k_servers; ++i) servers.push_back(std::make_unique<HttpFixtureServer>());
  SilentListener silent;
  std::string toml;
  for (int i = 0; i < k_sources; ++i) {
    const std::string name = "s" + std::to_string(i);
    if (i == k_dead) {
      // Its request outlives the whole test.
      toml += json_source(name, silent.url(), "1s", "5m");
      continue;
    }
    auto& server = *servers[static_cast<std::size_t>(i % k_servers)];
    server.route("/" + name, ok_body());
    toml += json_source(name, server.url("/" + name), "1s", "5s");
  }
  agent::PollEngine engine(agent_config(toml), SystemClock::instance());

  std::map<std::string, std::vector<std::chrono::steady_clock::time_point>> seen;
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < k_run) {
    for (const auto& batch : engine.step(100ms)) {
      for (const auto& s : batch) seen[s.channel].push_back(std::chrono::steady_clock::now());
    }
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const auto expected = elapsed / k_interval;  // polls each source should have made

  const auto health = engine.health();
  ASSERT_EQ(health.size(), static_cast<std::size_t>(k_sources));
  EXPECT_EQ(health[k_dead].polls, 0);  // still waiting for its first answer
  EXPECT_EQ(seen.count("s" + std::to_string(k_dead)), 0u);

  for (int i = 0; i < k_sources; ++i) {
    if (i == k_dead) continue;
    const std::string name = "s" + std::to_string(i);
    const auto& times = seen[name];
    SCOPED_TRACE(name);
    EXPECT_EQ(health[static_cast<std::size_t>(i)].errors, 0)
        << health[static_cast<std::size_t>(i)].last_error.value_or("");
    // On time: about one poll per interval, never more, and no long gap.
    EXPECT_GE(static_cast<std::int64_t>(times.size()), expected * 6 / 10);
    EXPECT_LE(static_cast<std::int64_t>(times.size()), expected + 2);
    for (std::size_t k = 1; k < times.size(); ++k) {
      EXPECT_LT(times[k] - times[k - 1], 3 * k_interval) << "gap before poll " << k;
    }
  }
}

}  // namespace
}  // namespace streamtrack::testing
