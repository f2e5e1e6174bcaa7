#include "agent/http/url.hpp"

#include <cctype>

namespace streamtrack::agent::http {

std::string percent_encode(std::string_view s) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += k_hex[u >> 4];
      out += k_hex[u & 15];
    }
  }
  return out;
}

std::string trim_trailing_slashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::string with_query_param(std::string_view url, std::string_view name, std::string_view value) {
  std::string_view fragment;
  if (const auto hash = url.find('#'); hash != std::string_view::npos) {
    fragment = url.substr(hash);
    url = url.substr(0, hash);
  }
  std::string_view base = url;
  std::string_view query;
  if (const auto q = url.find('?'); q != std::string_view::npos) {
    base = url.substr(0, q);
    query = url.substr(q + 1);
  }
  std::string out(base);
  out += '?';
  bool first = true;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto key = part.substr(0, part.find('='));
    if (part.empty() || key == name) continue;
    if (!first) out += '&';
    out += part;
    first = false;
  }
  if (!first) out += '&';
  out += name;
  out += '=';
  out += percent_encode(value);
  out += fragment;
  return out;
}

std::string url_path(std::string_view url) {
  auto scheme = url.find("://");
  std::string_view rest = scheme == std::string_view::npos ? url : url.substr(scheme + 3);
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) return "/";
  rest = rest.substr(slash);
  return std::string(rest.substr(0, rest.find_first_of("?#")));
}

}  // namespace streamtrack::agent::http
