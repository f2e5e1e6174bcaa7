#include "tests/support/alertmanager.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

namespace streamtrack::testing {

std::pair<int, std::string> http_get(std::uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {0, ""};
  timeval tv{};
  tv.tv_sec = 10;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return {0, ""};
  }
  const std::string request = "GET " + path +
                              " HTTP/1.0\r\nHost: 127.0.0.1:" + std::to_string(port) +
                              "\r\nAccept: application/json\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return {0, ""};
  }
  std::string response;
  char buf[8192];
  while (true) {
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    response.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto space = response.find(' ');
  const auto body = response.find("\r\n\r\n");
  if (space == std::string::npos || body == std::string::npos) return {0, ""};
  int status = 0;
  try {
    status = std::stoi(response.substr(space + 1, 3));
  } catch (const std::exception&) {
    return {0, ""};
  }
  return {status, response.substr(body + 4)};
}

AlertmanagerServer::AlertmanagerServer() {
  if (!std::filesystem::exists(k_binary)) {
    throw std::runtime_error(std::string(k_binary) +
                             " is missing (Debian package prometheus-alertmanager)");
  }
  write_file(m_dir / "alertmanager.yml",
             "route:\n  receiver: blackhole\n  group_wait: 1s\n  group_interval: 1s\n"
             "receivers:\n  - name: blackhole\n");
  std::filesystem::create_directories(m_dir / "data");
  for (int attempt = 0; attempt < 3; ++attempt) {
    m_port = free_port();
    Process::Options o;
    o.argv = {k_binary,
              "--config.file=" + (m_dir / "alertmanager.yml").string(),
              "--storage.path=" + (m_dir / "data").string(),
              "--web.listen-address=127.0.0.1:" + std::to_string(m_port),
              "--cluster.listen-address=",
              "--log.level=debug"};
    o.log_file = m_dir / ("alertmanager-" + std::to_string(attempt) + ".log");
    m_process = std::make_unique<Process>(o);
    const bool ready =
        wait_until([&] { return !m_process->running() || get("/-/ready").first == 200; });
    if (ready && m_process->running()) return;
    if (m_process->running()) break;  // running but never ready: a real failure
    // Exited: most likely the port was taken between free_port() and bind; try another.
  }
  throw std::runtime_error("alertmanager did not become ready:\n" + log());
}

AlertmanagerServer::~AlertmanagerServer() {
  if (m_process) m_process->stop(std::chrono::seconds{10});
}

std::string AlertmanagerServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(m_port) + path;
}

std::pair<int, std::string> AlertmanagerServer::get(const std::string& path) const {
  return http_get(m_port, path);
}

std::string AlertmanagerServer::alerts() const {
  const auto [status, body] = get("/api/v2/alerts");
  return status == 200 ? body : std::string();
}

std::string AlertmanagerServer::log() const {
  return m_process ? m_process->output() : "";
}

}  // namespace streamtrack::testing
