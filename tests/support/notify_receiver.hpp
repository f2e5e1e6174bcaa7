#pragma once

// A fake systemd notification socket ($NOTIFY_SOCKET) that records every message a daemon
// sends (READY=1, RELOADING=1, STATUS=..., WATCHDOG=1, STOPPING=1), and can stand for a busy
// PID 1 whose queue is full (hold(), release()).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/support/harness.hpp"

namespace streamtrack::testing {

class NotifyReceiver {
 public:
  NotifyReceiver() : m_dir("notify") {
    m_path = (m_dir / "notify.sock").string();
    m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    m_path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    if (m_fd < 0 || ::bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("cannot bind " + m_path);
    }
    timeval tv{0, 100'000};
    ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    m_thread = std::thread([this] {
      char buf[4096];
      while (true) {
        {
          std::unique_lock lock(m_mutex);
          m_parked = m_held;
          m_cv.notify_all();
          m_cv.wait(lock, [this] { return m_stop || !m_held; });
          m_parked = false;
          if (m_stop) return;
        }
        const auto n = ::recv(m_fd, buf, sizeof buf, 0);
        if (n <= 0) continue;
        std::string message(buf, static_cast<std::size_t>(n));
        if (message == k_filler) continue;
        std::lock_guard lock(m_mutex);
        m_messages.push_back(std::move(message));
      }
    });
  }
  ~NotifyReceiver() {
    {
      std::lock_guard lock(m_mutex);
      m_stop = true;
    }
    m_cv.notify_all();
    m_thread.join();
    ::close(m_fd);
  }

  // Stops reading and fills the socket's queue until a send finds no room (as PID 1's queue is
  // when PID 1 is busy): the daemon's notifications fail until release().
  void hold() {
    {
      std::unique_lock lock(m_mutex);
      m_held = true;
      m_cv.wait(lock, [this] { return m_parked; });
    }
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    m_path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    for (int i = 0; i < 100'000; ++i) {
      if (::sendto(fd, k_filler.data(), k_filler.size(), MSG_DONTWAIT,
                   reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0) {
        const int error = errno;
        ::close(fd);
        if (error == EAGAIN) return;
        throw std::runtime_error("cannot fill " + m_path + ": " + std::strerror(error));
      }
    }
    ::close(fd);
    throw std::runtime_error("the queue of " + m_path + " never filled");
  }
  // Reads again: the filler, then what the daemon sends (again).
  void release() {
    {
      std::lock_guard lock(m_mutex);
      m_held = false;
    }
    m_cv.notify_all();
  }
  NotifyReceiver(const NotifyReceiver&) = delete;
  NotifyReceiver& operator=(const NotifyReceiver&) = delete;

  // For the daemon's environment: "NOTIFY_SOCKET=<path>".
  const std::string& path() const { return m_path; }
  // Index of the first message at or after `from` with a line starting with `needle`.
  std::optional<std::size_t> find(const std::string& needle, std::size_t from = 0) const {
    std::lock_guard lock(m_mutex);
    for (auto i = from; i < m_messages.size(); ++i) {
      if (("\n" + m_messages[i]).find("\n" + needle) != std::string::npos) return i;
    }
    return std::nullopt;
  }
  // find(), waiting up to the harness's event timeout.
  std::optional<std::size_t> wait_for(const std::string& needle, std::size_t from = 0) const {
    std::optional<std::size_t> found;
    wait_until([&] { return (found = find(needle, from)).has_value(); });
    return found;
  }
  std::size_t size() const {
    std::lock_guard lock(m_mutex);
    return m_messages.size();
  }

 private:
  TempDir m_dir;
  std::string m_path;
  int m_fd = -1;
  static constexpr std::string_view k_filler = "X_STREAMTRACK_TEST_FILLER=1";
  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_stop = false;
  bool m_held = false;    // hold() asks the reader to stop reading
  bool m_parked = false;  // the reader does not read until release()
  std::vector<std::string> m_messages;
  std::thread m_thread;
};

}  // namespace streamtrack::testing
