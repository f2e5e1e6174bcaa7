#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

// GET /api/v1/stats computed at most once per window however many clients ask: the first
// request after the window computes, concurrent ones wait for that same result.
namespace streamtrack::web::api {

struct StatsSnapshot {
  std::string body;     // the JSON reply
  std::string figures;  // the JSON without generated_at (what the ETag and `event: stats` use)
  std::string etag;     // W/"<hash of figures>"
  std::chrono::steady_clock::time_point computed_at{};  // when its computation began
};

class StatsCache {
 public:
  // `compute` runs on the calling thread of get() and may throw (the error goes to every
  // waiter of that round; the next get() tries again).
  StatsCache(std::chrono::milliseconds window, std::function<StatsSnapshot()> compute);

  std::shared_ptr<const StatsSnapshot> get();
  std::uint64_t computations() const;

 private:
  std::chrono::milliseconds m_window;
  std::function<StatsSnapshot()> m_compute;
  mutable std::mutex m_mutex;
  std::condition_variable m_done;
  std::shared_ptr<const StatsSnapshot> m_current;
  bool m_computing = false;
  std::uint64_t m_round = 0;  // finished computations (successful or not)
  std::exception_ptr m_last_error;
  std::uint64_t m_computations = 0;
};

// W/"<16 hex digits>" of an FNV-1a hash.
std::string weak_etag(const std::string& text);

}  // namespace streamtrack::web::api
