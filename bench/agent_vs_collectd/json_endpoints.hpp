#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

// Many small JSON endpoints on 127.0.0.1, served by one epoll thread with HTTP/1.1 keep-alive,
// so that the cost of serving them stays small and equal for every client measured against
// it (civetweb's fixture server holds a thread per kept-alive connection). GET /s<i> answers
// {"online":true,"viewers":<changing>,"title":"...","bitrate":...}; anything else is a 404.
namespace streamtrack::bench {

class JsonEndpoints {
 public:
  // Listens on a free loopback port; throws std::runtime_error when it cannot.
  JsonEndpoints();
  ~JsonEndpoints();
  JsonEndpoints(const JsonEndpoints&) = delete;
  JsonEndpoints& operator=(const JsonEndpoints&) = delete;

  std::uint16_t port() const { return m_port; }
  // http://127.0.0.1:<port>/s<index>
  std::string url(int index) const;
  // Requests answered so far (all paths).
  std::uint64_t requests() const { return m_requests.load(); }
  // Connections accepted so far: far fewer than requests when clients keep them alive.
  std::uint64_t connections() const { return m_connections.load(); }

 private:
  void serve();

  int m_listen = -1;
  int m_epoll = -1;
  int m_stop = -1;  // eventfd
  std::uint16_t m_port = 0;
  std::atomic<std::uint64_t> m_requests{0};
  std::atomic<std::uint64_t> m_connections{0};
  std::thread m_thread;
};

}  // namespace streamtrack::bench
