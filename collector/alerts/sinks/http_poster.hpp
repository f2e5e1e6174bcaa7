#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "common/util/result.hpp"

// The one HTTP exchange the webhook sink needs, behind an interface so that unit tests can
// answer it without a socket; libcurl stays in http_poster.cpp.
namespace streamtrack::collector::alerts::sinks {

struct HttpPost {
  std::string url;
  std::map<std::string, std::string> headers;  // sent as "Name: value" after Content-Type
  std::string body;                            // sent as application/json
  std::chrono::milliseconds timeout{5000};     // the whole exchange, connect included
};

struct HttpReply {
  long status = 0;
  std::string body;  // at most the first 512 bytes, for error messages
};

class HttpPoster {
 public:
  virtual ~HttpPoster() = default;
  // POSTs `request` and returns the reply (any status), or the transport error ("Timeout was
  // reached", "Couldn't connect to server"). Returns early with an error once `abort` becomes
  // true. Never throws. Called from one thread at a time.
  virtual Result<HttpReply> post(const HttpPost& request, const std::atomic<bool>& abort) = 0;
};

// libcurl's easy interface, a fresh handle per exchange, User-Agent streamtrack-collector.
std::unique_ptr<HttpPoster> curl_poster();

}  // namespace streamtrack::collector::alerts::sinks
