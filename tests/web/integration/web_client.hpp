#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

// Plain-socket HTTP/1.1 clients for the web daemon's tests (loopback only): one request per
// connection, and a Server-Sent Events reader that records every event it receives.
namespace streamtrack::web::testing {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// GET (or `method`) `target` from 127.0.0.1:`port`, sent exactly as given (no normalisation of
// "..", so traversal attempts reach the server). Throws std::runtime_error on socket errors.
HttpReply http_get(std::uint16_t port, const std::string& target,
                   const std::map<std::string, std::string>& headers = {},
                   const std::string& method = "GET");

// Sends `bytes` as they are and returns everything the server answers until it closes the
// connection (or 30 s pass).
std::string http_raw(std::uint16_t port, const std::string& bytes);

struct SseEvent {
  std::string id;
  std::string event;
  std::string data;
};

class SseClient {
 public:
  SseClient(std::uint16_t port, const std::string& target,
            const std::map<std::string, std::string>& headers = {});
  ~SseClient();
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  // Waits until the response headers arrived; returns the status.
  int wait_status(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  std::vector<SseEvent> events() const;
  std::size_t comments() const;  // ": ..." lines seen (keepalives)
  // Waits until some event satisfies `pred`; returns it.
  std::optional<SseEvent> wait_for(const std::function<bool(const SseEvent&)>& pred,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(60));
  bool wait_count(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(60));
  bool closed() const;

 private:
  void run();
  void parse_locked();

  int m_fd = -1;
  mutable std::mutex m_mutex;
  std::condition_variable m_changed;
  std::string m_buffer;
  bool m_headers_done = false;
  int m_status = 0;
  bool m_closed = false;
  std::size_t m_comments = 0;
  std::vector<SseEvent> m_events;
  SseEvent m_current;
  std::thread m_thread;
};

}  // namespace streamtrack::web::testing
