#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "web/api/request.hpp"

// The HTTP/1.1 server of streamtrack-web, on Boost.Beast/Asio: a fixed number of event-loop
// threads (epoll) serve every connection, long-lived SSE ones included, so a thousand live
// clients cost memory, not threads; request handlers run on a separate fixed worker pool so a
// slow query never stalls the event loop. Every reply carries the security headers
// (Content-Security-Policy, X-Content-Type-Options, ...).
namespace streamtrack::web::http {

struct ServerOptions {
  std::string listen = "127.0.0.1:8090";
  int io_threads = 2;
  int workers = 8;
  std::size_t max_connections = 4096;
  std::size_t client_buffer_bytes = 16 << 20;  // an SSE client further behind is disconnected
  // Keep-alive, request read and reply write timeout (live streams are bounded by their buffer).
  std::chrono::milliseconds idle_timeout{30'000};
  // Requests for which this returns true are answered on the event loop itself (they must
  // be quick and never touch the database: files, health, metrics), so they are served
  // even while every worker waits on PostgreSQL. Unset: every request goes to a worker.
  std::function<bool(const Request&)> answer_inline;
};

// Runs on a worker thread; must not throw (Api::handle never does; others are wrapped).
using Handler = std::function<Response(const Request&)>;

class Session;

class Server {
 public:
  // Binds and starts serving. Throws std::runtime_error naming the address on failure.
  Server(ServerOptions options, Handler handler);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const;
  // Stops accepting, closes every connection, joins every thread. Idempotent.
  void stop();

  std::size_t connections() const;
  std::size_t live_connections() const;
  std::uint64_t requests() const;
  std::uint64_t dropped_slow_clients() const;

 private:
  friend class Session;
  struct Impl;
  std::shared_ptr<Impl> m_impl;
};

// The headers every reply carries (name, value).
const std::vector<std::pair<std::string, std::string>>& security_headers();

}  // namespace streamtrack::web::http
