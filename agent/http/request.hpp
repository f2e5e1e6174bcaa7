#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/util/result.hpp"

// Plain data describing one HTTP exchange, independent of libcurl.
namespace streamtrack::agent::http {

// The defaults of a request, and of the [[source]] keys `timeout` and `max_body_bytes`.
inline constexpr std::chrono::milliseconds k_default_timeout{10'000};
inline constexpr std::size_t k_default_max_body_bytes = 4 << 20;

struct BasicAuth {
  std::string user;
  std::string password;
};

struct Request {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // sent as "Name: value"
  std::string body;                                          // sent when non-empty
  std::optional<BasicAuth> basic_auth;
  std::chrono::milliseconds timeout = k_default_timeout;  // whole request, connect included
  std::size_t max_body_bytes = k_default_max_body_bytes;  // larger bodies fail the request
};

struct Response {
  long status = 0;
  std::string content_type;                    // as sent, empty when absent
  std::map<std::string, std::string> headers;  // names lower-cased; last value wins
  std::string body;                            // decoded (gzip/deflate/br undone)
};

// A response (of any status), or a transport error such as "timed out after 10s",
// "connection refused" or "response body larger than 4194304 bytes".
using Outcome = Result<Response>;

}  // namespace streamtrack::agent::http
