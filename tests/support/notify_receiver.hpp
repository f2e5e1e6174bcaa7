#pragma once

// A fake systemd notification socket ($NOTIFY_SOCKET) that records every message a daemon
// sends (READY=1, RELOADING=1, STATUS=..., WATCHDOG=1, STOPPING=1).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
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
      while (!m_stop) {
        const auto n = ::recv(m_fd, buf, sizeof buf, 0);
        if (n <= 0) continue;
        std::lock_guard lock(m_mutex);
        m_messages.emplace_back(buf, static_cast<std::size_t>(n));
      }
    });
  }
  ~NotifyReceiver() {
    m_stop = true;
    m_thread.join();
    ::close(m_fd);
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
  std::atomic<bool> m_stop{false};
  mutable std::mutex m_mutex;
  std::vector<std::string> m_messages;
  std::thread m_thread;
};

}  // namespace streamtrack::testing
