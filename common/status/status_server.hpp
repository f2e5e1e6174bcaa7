#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status/metrics.hpp"

// The operations endpoint of both daemons, on a loopback address from `[http] listen`:
//   GET /metrics  Prometheus text format (Metrics::render())
//   GET /healthz  200 while the process serves requests
//   GET /readyz   200 when every readiness check passes, else 503 naming the failing ones
// Both answer JSON: /healthz {"status":"healthy","timestamp":"<RFC 3339>","version":
// "<k_version>","daemon":"..."}; /readyz the same with "status":"ok"|"fail" and
// "checks":{"<name>":{"ok":bool,"detail":"..."}}.
namespace streamtrack::status {

struct CheckResult {
  bool ok = false;
  std::string detail;  // why it failed, or a figure when it passed ("age 3.2s")
};

// A readiness check: called from the server's threads on each /readyz request, so it must be
// thread-safe and quick (read an atomic, never do I/O).
using Check = std::function<CheckResult()>;

class StatusServer {
 public:
  struct Options {
    std::string listen;   // "127.0.0.1:9464", "[::1]:9464"; ":0" ports pick a free port
    std::string version;  // defaults to k_version when empty
  };

  // Starts serving. `metrics` must outlive the server. Throws std::runtime_error naming the
  // address when `listen` is malformed or cannot be bound (startup only).
  StatusServer(const Options& options, const Metrics& metrics);
  ~StatusServer();  // stops serving and joins the server threads
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;

  // Adds a named readiness check; the daemon adds them before READY=1. Thread-safe.
  void add_check(std::string name, Check check);

  // The bound port (the real one when listen asked for port 0).
  std::uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// Starts a StatusServer when `listen` is not empty, else returns nullptr. Same throws.
std::unique_ptr<StatusServer> start_status_server(const std::string& listen,
                                                  const Metrics& metrics);

// Readiness helper: passes while `age()` is known and below `limit`.
Check max_age_check(std::function<std::optional<Seconds>()> age, Seconds limit);

}  // namespace streamtrack::status
