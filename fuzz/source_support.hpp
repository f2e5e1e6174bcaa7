#pragma once

#include <string>
#include <string_view>

#include "agent/http/request.hpp"
#include "common/util/time.hpp"

namespace streamtrack::fuzz {

// A fixed reception time, so that a crash reproduces from its input alone.
inline TimePoint fixed_now() {
  return parse_rfc3339("2026-03-01T12:00:00Z").value();
}

// A 200 answer carrying `body` as JSON, as a source's poll receives it.
inline agent::http::Response json_response(std::string_view body) {
  agent::http::Response r;
  r.status = 200;
  r.content_type = "application/json";
  r.body = std::string(body);
  return r;
}

}  // namespace streamtrack::fuzz
