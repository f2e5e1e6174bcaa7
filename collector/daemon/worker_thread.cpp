#include "collector/daemon/worker_thread.hpp"

#include <utility>

namespace streamtrack::collector::daemon {

void WorkerThread::start(std::function<void()> body) {
  m_thread = std::thread([this, body = std::move(body)] {
    body();
    std::lock_guard lock(m_mutex);
    m_done = true;
    m_done_cv.notify_all();
  });
}

void WorkerThread::stop(const std::function<void()>& nudge) {
  m_wakeup.stop();
  if (!m_thread.joinable()) return;
  if (nudge) {
    std::unique_lock lock(m_mutex);
    while (!m_done) {
      lock.unlock();
      nudge();
      lock.lock();
      m_done_cv.wait_for(lock, std::chrono::milliseconds{200}, [this] { return m_done; });
    }
  }
  m_thread.join();
}

}  // namespace streamtrack::collector::daemon
