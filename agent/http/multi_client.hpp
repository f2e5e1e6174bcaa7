#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "agent/http/request.hpp"

struct curl_waitfd;  // <curl/multi.h>

// Many concurrent HTTP requests on one thread, over libcurl's multi interface. Connections are
// kept alive and reused between requests to the same host, HTTP/2 is used where offered, and
// gzip/deflate/brotli bodies are accepted. Not thread-safe.
namespace streamtrack::agent::http {

// A descriptor of another component that perform() waits on beside its transfers: readable,
// or also writable when `write` is set. perform() clears `ready` when its last wait saw the fd
// not ready, and sets it otherwise (ready, or perform() returned without waiting on it).
struct WaitFd {
  int fd = -1;
  bool write = false;
  bool ready = false;
};

class MultiClient {
 public:
  using Id = std::uint64_t;
  struct Completion {
    Id id = 0;
    Reply reply;
  };

  // Throws std::runtime_error when libcurl cannot be initialised.
  MultiClient();
  ~MultiClient();
  MultiClient(const MultiClient&) = delete;
  MultiClient& operator=(const MultiClient&) = delete;

  // Queues `request`; its outcome comes back from a later perform(). Never throws for a bad
  // request: it completes with an error instead.
  Id start(const Request& request);

  // Drives every transfer, waiting at most `max_wait` for network activity. Returns early when
  // a transfer finished or one of `extra_fds` became ready (negative fds are ignored). Returns
  // the transfers that finished, in completion order.
  std::vector<Completion> perform(std::chrono::milliseconds max_wait,
                                  std::span<WaitFd> extra_fds = {});

 private:
  struct Transfer;
  void collect(std::vector<Completion>& done);

  void* m_multi = nullptr;  // CURLM*
  Id m_next_id = 1;
  std::map<Id, std::unique_ptr<Transfer>> m_transfers;
  std::vector<Completion> m_failed;  // requests that could not even start
  // Easy handles of finished transfers, reused by the next ones (at most k_idle_handles).
  static constexpr std::size_t k_idle_handles = 16;
  // CURLOPT_BUFFERSIZE of each transfer.
  static constexpr long k_receive_buffer_bytes = 4096;
  std::vector<void*> m_idle;            // CURL*
  std::vector<curl_waitfd> m_wait_fds;  // perform()'s, kept to spare an allocation
};

}  // namespace streamtrack::agent::http
