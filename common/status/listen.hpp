#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/util/result.hpp"

namespace streamtrack::status {

// A parsed `[http] listen` value.
struct ListenAddress {
  std::string host;  // an IPv4 literal, or an IPv6 literal without brackets
  std::uint16_t port = 0;
  bool ipv6 = false;
  bool loopback = false;  // 127.0.0.0/8 or ::1
};

// Parses "127.0.0.1:9464" or "[::1]:9464". Host names are refused (the endpoint must not
// depend on DNS); port 0 means "any free port" (tests). The error text reads well after
// "listen: ", e.g. `expected "address:port" like "127.0.0.1:9464", got "9464"`.
Result<ListenAddress> parse_listen(std::string_view text);

// "127.0.0.1:9464" / "[::1]:9464".
std::string to_string(const ListenAddress& address);

}  // namespace streamtrack::status
