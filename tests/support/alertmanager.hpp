#pragma once

// A real Prometheus Alertmanager (Debian's prometheus-alertmanager) on loopback, for tests
// that deliver alerts to it. Lives next to harness.hpp and uses its Process and TempDir.

#include <cstdint>
#include <memory>
#include <string>

#include "tests/support/harness.hpp"

namespace streamtrack::testing {

// Started with a one-receiver configuration, storage in its own TempDir, clustering off.
// The constructor returns once GET /-/ready answers 200; throws std::runtime_error (with the
// server's log) when the binary is missing or it does not become ready in k_event_timeout.
class AlertmanagerServer {
 public:
  static constexpr const char* k_binary = "/usr/bin/prometheus-alertmanager";

  AlertmanagerServer();
  ~AlertmanagerServer();
  AlertmanagerServer(const AlertmanagerServer&) = delete;
  AlertmanagerServer& operator=(const AlertmanagerServer&) = delete;

  std::uint16_t port() const { return m_port; }
  // http://127.0.0.1:<port><path>
  std::string url(const std::string& path = "/") const;
  // GET `path`; the status code and body (status 0 when nothing answered).
  std::pair<int, std::string> get(const std::string& path) const;
  // The body of GET /api/v2/alerts (a JSON array), or "" when it could not be read.
  std::string alerts() const;
  std::string log() const;

 private:
  TempDir m_dir{"streamtrack-alertmanager"};
  std::uint16_t m_port = 0;
  std::unique_ptr<Process> m_process;
};

// GET http://127.0.0.1:<port><path> with a plain socket: status code and body (0, "" when the
// connection failed). For small answers from loopback test servers.
std::pair<int, std::string> http_get(std::uint16_t port, const std::string& path);

}  // namespace streamtrack::testing
