#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

// What the MQTT client's (Paho's) threads hand to the agent's loop, and how they wake it.
namespace streamtrack::agent {

struct ClientEvent {
  enum class Kind { connected, disconnected, delivered, refused, message, subscribed, collision };
  Kind kind;
  std::uint64_t id = 0;
  bool ok = false;
  std::string text{};   // reason, error, or a message's payload
  std::string topic{};  // message, subscribed (the filter)
  bool retained = false;
};

// Events in arrival order; push() from any thread, take() from the loop. Thread-safe.
class ClientEventQueue {
 public:
  void push(ClientEvent e) {
    {
      std::lock_guard lock(m_mutex);
      m_events.push_back(std::move(e));
    }
    m_cv.notify_all();
  }
  std::deque<ClientEvent> take() {
    std::lock_guard lock(m_mutex);
    return std::exchange(m_events, {});
  }
  // Returns when an event is queued or after `timeout`.
  void wait_for(std::chrono::milliseconds timeout) {
    std::unique_lock lock(m_mutex);
    m_cv.wait_for(lock, timeout, [this] { return !m_events.empty(); });
  }

 private:
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<ClientEvent> m_events;
};

// Wakes the loop from another thread: an eventfd the loop polls beside its other descriptors
// (PollEngine::step takes it as an extra fd, so it works across engine swaps on reload).
class LoopWakeup {
 public:
  LoopWakeup() : m_fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (m_fd < 0) throw std::runtime_error("eventfd failed");
  }
  ~LoopWakeup() { ::close(m_fd); }
  LoopWakeup(const LoopWakeup&) = delete;
  LoopWakeup& operator=(const LoopWakeup&) = delete;
  int fd() const { return m_fd; }
  // Makes fd() readable. Any thread.
  void signal() {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(m_fd, &one, sizeof one);
  }
  // Makes fd() unreadable again. The loop, after it woke.
  void clear() {
    std::uint64_t value = 0;
    [[maybe_unused]] const auto n = ::read(m_fd, &value, sizeof value);
  }

 private:
  int m_fd;
};

}  // namespace streamtrack::agent
