#include "web/api/stats_cache.hpp"

#include <cstdio>

namespace streamtrack::web::api {

StatsCache::StatsCache(std::chrono::milliseconds window, std::function<StatsSnapshot()> compute)
    : m_window(window), m_compute(std::move(compute)) {}

std::shared_ptr<const StatsSnapshot> StatsCache::get() {
  std::unique_lock lock(m_mutex);
  const auto now = std::chrono::steady_clock::now();
  if (m_current && now - m_current->computed_at < m_window) return m_current;
  if (m_computing) {
    const auto round = m_round;
    m_done.wait(lock, [&] { return m_round != round; });
    if (m_last_error) std::rethrow_exception(m_last_error);
    return m_current;
  }
  m_computing = true;
  ++m_computations;
  lock.unlock();
  std::shared_ptr<const StatsSnapshot> fresh;
  std::exception_ptr error;
  const auto started = std::chrono::steady_clock::now();
  try {
    auto snapshot = m_compute();
    snapshot.computed_at = started;  // it reflects what was committed when it began
    fresh = std::make_shared<const StatsSnapshot>(std::move(snapshot));
  } catch (...) {
    error = std::current_exception();
  }
  lock.lock();
  m_computing = false;
  ++m_round;
  m_last_error = error;
  if (fresh) m_current = fresh;
  m_done.notify_all();
  if (error) std::rethrow_exception(error);
  return m_current;
}

std::uint64_t StatsCache::computations() const {
  std::lock_guard lock(m_mutex);
  return m_computations;
}

std::string weak_etag(const std::string& text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "W/\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace streamtrack::web::api
