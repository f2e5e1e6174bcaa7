#include "bench/agent_vs_collectd/json_endpoints.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <stdexcept>

namespace streamtrack::bench {

namespace {

std::string reply(std::string_view path, std::uint64_t n) {
  std::string status = "200 OK";
  std::string body;
  if (path.size() > 2 && path.substr(0, 2) == "/s") {
    body = "{\"online\":true,\"viewers\":" + std::to_string(100 + n % 900) +
           ",\"title\":\"Benchmark stream " + std::string(path.substr(2)) +
           "\",\"bitrate\":" + std::to_string(2400 + n % 200) + "}";
  } else {
    status = "404 Not Found";
    body = "{}";
  }
  return "HTTP/1.1 " + status +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

}  // namespace

JsonEndpoints::JsonEndpoints() {
  m_listen = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  const int one = 1;
  ::setsockopt(m_listen, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(m_listen, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(m_listen, 1024) != 0) {
    throw std::runtime_error("JsonEndpoints: cannot listen on 127.0.0.1");
  }
  socklen_t len = sizeof addr;
  ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&addr), &len);
  m_port = ntohs(addr.sin_port);
  m_epoll = ::epoll_create1(EPOLL_CLOEXEC);
  m_stop = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = m_listen;
  ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_listen, &ev);
  ev.data.fd = m_stop;
  ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_stop, &ev);
  m_thread = std::thread([this] { serve(); });
}

JsonEndpoints::~JsonEndpoints() {
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(m_stop, &one, sizeof one);
  m_thread.join();
  ::close(m_listen);
  ::close(m_epoll);
  ::close(m_stop);
}

std::string JsonEndpoints::url(int index) const {
  return "http://127.0.0.1:" + std::to_string(m_port) + "/s" + std::to_string(index);
}

void JsonEndpoints::serve() {
  std::map<int, std::string> pending;  // fd -> bytes read and not yet answered
  epoll_event events[64];
  while (true) {
    const int n = ::epoll_wait(m_epoll, events, 64, -1);
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == m_stop) {
        for (const auto& [c, _] : pending) ::close(c);
        return;
      }
      if (fd == m_listen) {
        while (true) {
          const int c = ::accept4(m_listen, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          ++m_connections;
          epoll_event ev{};
          ev.events = EPOLLIN | EPOLLRDHUP;
          ev.data.fd = c;
          ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, c, &ev);
          pending[c];
        }
        continue;
      }
      auto& buffer = pending[fd];
      char chunk[4096];
      bool closed = false;
      while (true) {
        const auto got = ::read(fd, chunk, sizeof chunk);
        if (got > 0) {
          buffer.append(chunk, static_cast<std::size_t>(got));
          continue;
        }
        if (got == 0 || (errno != EAGAIN && errno != EINTR)) closed = true;
        if (got < 0 && errno == EINTR) continue;
        break;
      }
      std::string out;
      std::size_t end = 0;
      while ((end = buffer.find("\r\n\r\n")) != std::string::npos) {
        const std::string head = buffer.substr(0, end);
        buffer.erase(0, end + 4);
        const auto sp1 = head.find(' ');
        const auto sp2 = head.find(' ', sp1 + 1);
        const std::string_view path = sp1 == std::string::npos || sp2 == std::string::npos
                                          ? std::string_view{}
                                          : std::string_view(head).substr(sp1 + 1, sp2 - sp1 - 1);
        out += reply(path, m_requests.fetch_add(1));
      }
      if (!out.empty()) {
        // Replies are small: a blocking-free write almost always takes them whole; a client
        // whose socket buffer is full is dropped, which no benchmark client ever causes.
        const auto w = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
        if (w != static_cast<ssize_t>(out.size())) closed = true;
      }
      if (closed || buffer.size() > 65536) {
        ::epoll_ctl(m_epoll, EPOLL_CTL_DEL, fd, nullptr);
        ::close(fd);
        pending.erase(fd);
      }
    }
  }
}

}  // namespace streamtrack::bench
