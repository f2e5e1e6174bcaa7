#pragma once

// Helpers shared by the engine tests.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <stdexcept>

#include "tests/agent/sources/poll_once.hpp"

namespace streamtrack::testing {

using namespace std::chrono_literals;

inline std::string json_source(const std::string& name, const std::string& url,
                               const std::string& interval = "1s",
                               const std::string& timeout = "5s") {
  return "[[source]]\ntype = \"http_json\"\nname = \"" + name + "\"\nurl = \"" + url +
         "\"\ninterval = \"" + interval + "\"\ntimeout = \"" + timeout +
         "\"\n[source.fields]\nlive = \"/online\"\nviewers = \"/viewers\"\n\n";
}

inline HttpFixtureServer::Response ok_body(
    const std::string& body = "{\"online\":true,\"viewers\":3}") {
  HttpFixtureServer::Response r;
  r.body = body;
  return r;
}

inline HttpFixtureServer::Response server_error() {
  HttpFixtureServer::Response r;
  r.status = 500;
  r.content_type = "text/plain";
  r.body = "boom";
  return r;
}

// Steps until `pred` holds (or the event deadline passes), collecting samples.
inline bool step_until(agent::PollEngine& engine, const std::function<bool()>& pred,
                       std::vector<Sample>* samples = nullptr) {
  const auto deadline = std::chrono::steady_clock::now() + k_event_timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    for (auto& batch : engine.step(50ms)) {
      for (auto& s : batch) {
        if (samples) samples->push_back(std::move(s));
      }
    }
  }
  return true;
}

// A TCP listener that never accepts: connections hang, requests are never answered.
class SilentListener {
 public:
  SilentListener() {
    m_fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(m_fd, 1) != 0) {
      throw std::runtime_error("cannot listen");
    }
    socklen_t len = sizeof addr;
    ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&addr), &len);
    m_port = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(m_fd); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port) + "/never"; }

 private:
  int m_fd = -1;
  std::uint16_t m_port = 0;
};

}  // namespace streamtrack::testing
