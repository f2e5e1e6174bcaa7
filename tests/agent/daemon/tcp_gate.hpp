#pragma once

// A TCP forwarder on loopback that the test can close: closed, it cuts every connection and
// refuses new ones (accepts and hangs up). Lets a test decide when the agent may reach a
// restarted broker (after the test's own subscriber is back).

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <list>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "tests/support/harness.hpp"

namespace streamtrack::testing {

class TcpGate {
 public:
  explicit TcpGate(std::uint16_t upstream) : m_upstream(upstream), m_port(free_port()) {
    m_listen = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(m_listen, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr = loopback(m_port);
    if (::bind(m_listen, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(m_listen, 64) != 0) {
      throw std::runtime_error("TcpGate: cannot listen");
    }
    m_accept = std::thread([this] { accept_loop(); });
  }
  ~TcpGate() {
    m_stop = true;
    ::shutdown(m_listen, SHUT_RDWR);
    close_connections();
    m_accept.join();
    ::close(m_listen);
    std::lock_guard lock(m_mutex);
    for (auto& t : m_threads) t.join();
    for (const int fd : m_fds) ::close(fd);
  }
  std::uint16_t port() const { return m_port; }
  std::string url() const { return "mqtt://127.0.0.1:" + std::to_string(m_port); }
  void open() { m_open = true; }
  void close() {
    m_open = false;
    close_connections();
  }

 private:
  static sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
  }
  void close_connections() {
    std::lock_guard lock(m_mutex);
    for (const int fd : m_fds) ::shutdown(fd, SHUT_RDWR);
  }
  void accept_loop() {
    while (!m_stop) {
      const int client = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) {
        if (m_stop) return;
        continue;
      }
      if (!m_open) {
        ::close(client);
        continue;
      }
      const int up = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr = loopback(m_upstream);
      if (::connect(up, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(up);
        ::close(client);
        continue;
      }
      std::lock_guard lock(m_mutex);
      m_fds.push_back(client);
      m_fds.push_back(up);
      m_threads.emplace_back([client, up] { pump(client, up); });
    }
  }
  static void pump(int a, int b) {
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    char buf[16384];
    while (::poll(fds, 2, -1) > 0) {
      bool done = false;
      for (int i = 0; i < 2 && !done; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const auto n = ::read(fds[i].fd, buf, sizeof buf);
        if (n <= 0) {
          done = true;
          break;
        }
        if (::send(fds[1 - i].fd, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) done = true;
      }
      if (done) break;
    }
    ::shutdown(a, SHUT_RDWR);
    ::shutdown(b, SHUT_RDWR);
  }

  std::uint16_t m_upstream;
  std::uint16_t m_port;
  int m_listen = -1;
  std::atomic<bool> m_open{true};
  std::atomic<bool> m_stop{false};
  std::thread m_accept;
  std::mutex m_mutex;
  std::vector<int> m_fds;  // closed at destruction only, so shutdown() never hits a reused fd
  std::list<std::thread> m_threads;
};

}  // namespace streamtrack::testing
