#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "common/daemon/periodic.hpp"

namespace streamtrack::collector::daemon {

// The thread of a background worker and the Wakeup it sleeps on. Its body sleeps with
// wakeup().wait_until() and returns once wakeup().stopped(); stop() wakes it and joins.
// Make it the last member of its owner, so that it starts once everything its body uses
// exists, and call stop() from the owner's destructor, before those members go.
class WorkerThread {
 public:
  WorkerThread() = default;
  ~WorkerThread() { stop(); }
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  // Runs `body` on the thread. Once only.
  void start(std::function<void()> body);

  // Wakes the body for good and returns once it has returned. While it has not, calls `nudge`
  // (if any) every 200 ms, for a body blocked where the Wakeup cannot reach it (a statement to
  // cancel, which may arrive just before the body sends its next one). Idempotent.
  void stop(const std::function<void()>& nudge = {});

  Wakeup& wakeup() { return m_wakeup; }

 private:
  Wakeup m_wakeup;
  std::mutex m_mutex;
  std::condition_variable m_done_cv;
  bool m_done = false;
  std::thread m_thread;
};

}  // namespace streamtrack::collector::daemon
