#include "web/api/stats_cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <stdexcept>
#include <thread>

namespace streamtrack::web::api {
namespace {

using namespace std::chrono_literals;

TEST(StatsCache, ManyConcurrentClientsCauseOneComputationPerWindow) {
  std::atomic<int> calls{0};
  std::promise<void> release;
  auto released = release.get_future().share();
  StatsCache cache(1h, [&] {
    ++calls;
    released.wait();  // every other client arrives while this one computes
    return StatsSnapshot{"{}", "{}", weak_etag("{}"), {}};
  });
  std::vector<std::future<std::shared_ptr<const StatsSnapshot>>> clients;
  for (int i = 0; i < 32; ++i)
    clients.push_back(std::async(std::launch::async, [&] { return cache.get(); }));
  while (calls.load() == 0) std::this_thread::yield();
  release.set_value();
  const auto first = clients[0].get();
  for (std::size_t i = 1; i < clients.size(); ++i) EXPECT_EQ(clients[i].get(), first);
  EXPECT_EQ(cache.get(), first);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(cache.computations(), 1u);
}

TEST(StatsCache, AFailureReachesTheCallerAndTheNextCallTriesAgain) {
  int calls = 0;
  StatsCache cache(1h, [&] {
    if (++calls == 1) throw std::runtime_error("database down");
    return StatsSnapshot{"{\"a\":1}", "{\"a\":1}", weak_etag("{\"a\":1}"), {}};
  });
  EXPECT_THROW(cache.get(), std::runtime_error);
  EXPECT_EQ(cache.get()->body, "{\"a\":1}");
  EXPECT_EQ(calls, 2);
}

TEST(StatsCache, RecomputesAfterTheWindow) {
  int calls = 0;
  StatsCache cache(1ms, [&] {
    ++calls;
    return StatsSnapshot{};
  });
  cache.get();
  EXPECT_EQ(calls, 1);
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (calls < 2 && std::chrono::steady_clock::now() < deadline) cache.get();
  EXPECT_EQ(calls, 2);
}

TEST(WeakEtag, DependsOnTheText) {
  EXPECT_EQ(weak_etag("a"), weak_etag("a"));
  EXPECT_NE(weak_etag("a"), weak_etag("b"));
  EXPECT_TRUE(weak_etag("a").starts_with("W/\""));
}

}  // namespace
}  // namespace streamtrack::web::api
