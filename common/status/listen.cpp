#include "common/status/listen.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace streamtrack::status {

namespace {

Result<ListenAddress> fail(std::string_view text, std::string_view why) {
  return Result<ListenAddress>::failure(std::string(why) + ", got \"" + std::string(text) + "\"");
}

}  // namespace

Result<ListenAddress> parse_listen(std::string_view text) {
  constexpr std::string_view k_expected = R"(expected "address:port" like "127.0.0.1:9464")";
  ListenAddress address;
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return fail(text, k_expected);
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    address.ipv6 = true;
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) return fail(text, k_expected);
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  address.host = std::string(host);
  if (address.ipv6) {
    in6_addr a6{};
    if (inet_pton(AF_INET6, address.host.c_str(), &a6) != 1) {
      return fail(text, "expected an IPv6 address in brackets like \"[::1]:9464\"");
    }
    address.loopback = IN6_IS_ADDR_LOOPBACK(&a6);
  } else {
    in_addr a4{};
    if (inet_pton(AF_INET, address.host.c_str(), &a4) != 1) {
      return fail(text, "expected an IP address (not a host name) like \"127.0.0.1:9464\"");
    }
    address.loopback = (ntohl(a4.s_addr) >> 24) == 127;
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535) {
    return fail(text, "expected a port from 0 to 65535");
  }
  address.port = static_cast<std::uint16_t>(value);
  return address;
}

std::string to_string(const ListenAddress& address) {
  const auto port = std::to_string(address.port);
  return address.ipv6 ? "[" + address.host + "]:" + port : address.host + ":" + port;
}

}  // namespace streamtrack::status
