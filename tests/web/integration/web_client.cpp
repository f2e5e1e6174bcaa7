#include "tests/web/integration/web_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace streamtrack::web::testing {

namespace {

int connect_loopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const std::string e = std::strerror(errno);
    ::close(fd);
    throw std::runtime_error("connect 127.0.0.1:" + std::to_string(port) + ": " + e);
  }
  return fd;
}

void send_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    const auto n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("send: " + std::string(std::strerror(errno)));
    off += static_cast<std::size_t>(n);
  }
}

std::string request_text(const std::string& method, const std::string& target,
                         const std::map<std::string, std::string>& headers, bool close) {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  if (close) req += "Connection: close\r\n";
  req += "\r\n";
  return req;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Parses "HTTP/1.1 200 OK\r\nA: b\r\n..." (without the blank line).
void parse_head(const std::string& head, int& status, std::map<std::string, std::string>& out) {
  const auto first_end = head.find("\r\n");
  const auto line = head.substr(0, first_end);
  const auto sp = line.find(' ');
  status = sp == std::string::npos ? 0 : std::stoi(line.substr(sp + 1, 3));
  std::size_t pos = first_end == std::string::npos ? head.size() : first_end + 2;
  while (pos < head.size()) {
    auto end = head.find("\r\n", pos);
    if (end == std::string::npos) end = head.size();
    const auto h = head.substr(pos, end - pos);
    const auto colon = h.find(':');
    if (colon != std::string::npos) {
      auto value = h.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(value.begin());
      out[lower(h.substr(0, colon))] = value;
    }
    pos = end + 2;
  }
}

}  // namespace

HttpReply http_get(std::uint16_t port, const std::string& target,
                   const std::map<std::string, std::string>& headers, const std::string& method) {
  const int fd = connect_loopback(port);
  std::string data;
  try {
    send_all(fd, request_text(method, target, headers, true));
    char buf[65536];
    while (true) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 60'000) <= 0) throw std::runtime_error("no reply within 60 s");
      const auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n < 0) throw std::runtime_error("recv: " + std::string(std::strerror(errno)));
      if (n == 0) break;
      data.append(buf, static_cast<std::size_t>(n));
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  HttpReply reply;
  const auto split = data.find("\r\n\r\n");
  if (split == std::string::npos) throw std::runtime_error("malformed reply: " + data);
  parse_head(data.substr(0, split), reply.status, reply.headers);
  reply.body = data.substr(split + 4);
  return reply;
}

std::string http_raw(std::uint16_t port, const std::string& bytes) {
  const int fd = connect_loopback(port);
  std::string data;
  try {
    send_all(fd, bytes);
  } catch (const std::exception&) {
    // The server may close before reading everything (a body over its limit): read the reply.
  }
  char buf[65536];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 30'000) <= 0) break;
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    data.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return data;
}

SseClient::SseClient(std::uint16_t port, const std::string& target,
                     const std::map<std::string, std::string>& headers) {
  m_fd = connect_loopback(port);
  auto h = headers;
  h.emplace("Accept", "text/event-stream");
  send_all(m_fd, request_text("GET", target, h, false));
  m_thread = std::thread([this] { run(); });
}

SseClient::~SseClient() {
  ::shutdown(m_fd, SHUT_RDWR);
  if (m_thread.joinable()) m_thread.join();
  ::close(m_fd);
}

void SseClient::run() {
  char buf[16384];
  while (true) {
    const auto n = ::recv(m_fd, buf, sizeof buf, 0);
    std::lock_guard lock(m_mutex);
    if (n <= 0) {
      m_closed = true;
      m_changed.notify_all();
      return;
    }
    m_buffer.append(buf, static_cast<std::size_t>(n));
    parse_locked();
    m_changed.notify_all();
  }
}

void SseClient::parse_locked() {
  if (!m_headers_done) {
    const auto split = m_buffer.find("\r\n\r\n");
    if (split == std::string::npos) return;
    std::map<std::string, std::string> headers;
    parse_head(m_buffer.substr(0, split), m_status, headers);
    m_buffer.erase(0, split + 4);
    m_headers_done = true;
  }
  while (true) {
    const auto nl = m_buffer.find('\n');
    if (nl == std::string::npos) return;
    const auto line = m_buffer.substr(0, nl);
    m_buffer.erase(0, nl + 1);
    if (line.empty()) {
      if (!m_current.data.empty() || !m_current.event.empty()) {
        if (m_current.event.empty()) m_current.event = "message";
        m_events.push_back(m_current);
      }
      m_current = {};
    } else if (line[0] == ':') {
      ++m_comments;
    } else if (line.starts_with("id: ")) {
      m_current.id = line.substr(4);
    } else if (line.starts_with("event: ")) {
      m_current.event = line.substr(7);
    } else if (line.starts_with("data: ")) {
      if (!m_current.data.empty()) m_current.data += "\n";
      m_current.data += line.substr(6);
    }
  }
}

int SseClient::wait_status(std::chrono::milliseconds timeout) {
  std::unique_lock lock(m_mutex);
  m_changed.wait_for(lock, timeout, [&] { return m_headers_done || m_closed; });
  return m_status;
}

std::vector<SseEvent> SseClient::events() const {
  std::lock_guard lock(m_mutex);
  return m_events;
}

std::size_t SseClient::comments() const {
  std::lock_guard lock(m_mutex);
  return m_comments;
}

std::optional<SseEvent> SseClient::wait_for(const std::function<bool(const SseEvent&)>& pred,
                                            std::chrono::milliseconds timeout) {
  std::unique_lock lock(m_mutex);
  std::optional<SseEvent> found;
  m_changed.wait_for(lock, timeout, [&] {
    for (const auto& e : m_events) {
      if (pred(e)) {
        found = e;
        return true;
      }
    }
    return m_closed;
  });
  return found;
}

bool SseClient::wait_count(std::size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(m_mutex);
  return m_changed.wait_for(lock, timeout, [&] { return m_events.size() >= n; });
}

bool SseClient::closed() const {
  std::lock_guard lock(m_mutex);
  return m_closed;
}

}  // namespace streamtrack::web::testing
