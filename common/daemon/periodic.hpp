#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

// Loop primitives shared by the daemons' loops and workers.
namespace streamtrack {

// A task due every `every` on the steady clock, first after one period.
class Periodic {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Periodic(std::chrono::milliseconds every)
      : m_every(every), m_next(Clock::now() + every) {}
  // The same, first due at `first`.
  Periodic(std::chrono::milliseconds every, Clock::time_point first)
      : m_every(every), m_next(first) {}

  // True (and the next time moved one period past `now`) when the task is due at `now`.
  bool due(Clock::time_point now) {
    if (now < m_next) return false;
    m_next = now + m_every;
    return true;
  }
  Clock::time_point next() const { return m_next; }
  // A new period, from the next time the task is due on.
  void set_every(std::chrono::milliseconds every) { m_every = every; }

 private:
  std::chrono::milliseconds m_every;
  Clock::time_point m_next;
};

// Lets one thread sleep until a deadline or until another thread asks it to stop. Thread-safe.
class Wakeup {
 public:
  // Sleeps until `until` or stop(); true when stopped.
  bool wait_until(std::chrono::steady_clock::time_point until) {
    std::unique_lock lock(m_mutex);
    m_cv.wait_until(lock, until, [this] { return m_stopped; });
    return m_stopped;
  }
  bool wait_for(std::chrono::milliseconds d) {
    return wait_until(std::chrono::steady_clock::now() + d);
  }
  // Wakes the sleeper now and for good.
  void stop() {
    {
      std::lock_guard lock(m_mutex);
      m_stopped = true;
    }
    m_cv.notify_all();
  }
  bool stopped() const {
    std::lock_guard lock(m_mutex);
    return m_stopped;
  }

 private:
  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_stopped = false;
};

}  // namespace streamtrack
