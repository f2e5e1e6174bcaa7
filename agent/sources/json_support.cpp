#include "agent/sources/json_support.hpp"

#include <charconv>
#include <cmath>

namespace streamtrack::agent::sources {

using nlohmann::json;

Result<json> parse_json(std::string_view body) {
  // JSON text never holds a raw NUL, and nlohmann's parser would take one for the end of the
  // input and ignore whatever follows it.
  if (const auto nul = body.find('\0'); nul != std::string_view::npos) {
    return Result<json>::failure("invalid JSON: NUL byte at byte " + std::to_string(nul + 1));
  }
  try {
    return json::parse(body);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    // Drop the "[json.exception.parse_error.101] " prefix: users need the where and why.
    if (const auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
    return Result<json>::failure("invalid JSON: " + what);
  } catch (const json::out_of_range&) {
    // A number beyond the range of a double (1e400): nlohmann throws this, not a parse_error.
    return Result<json>::failure("invalid JSON: number out of range");
  }
}

std::optional<std::int64_t> as_count(const json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) {
    const auto i = v.get<std::int64_t>();
    return i >= 0 ? std::optional(i) : std::nullopt;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || d < 0 || d > 9e15 || std::floor(d) != d) return std::nullopt;
    return static_cast<std::int64_t>(d);
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    std::int64_t out = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec != std::errc{} || end != s.data() + s.size() || s.empty() || out < 0) {
      return std::nullopt;
    }
    return out;
  }
  return std::nullopt;
}

std::optional<double> as_number(const json& v) {
  if (v.is_number()) {
    const double d = v.get<double>();
    return std::isfinite(d) ? std::optional(d) : std::nullopt;
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    double out = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec != std::errc{} || end != s.data() + s.size() || s.empty() || !std::isfinite(out)) {
      return std::nullopt;
    }
    return out;
  }
  return std::nullopt;
}

std::optional<std::string> as_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return std::nullopt;
}

std::optional<TimePoint> as_time(const json& v) {
  if (!v.is_string()) return std::nullopt;
  std::string s = v.get<std::string>();
  // Icecast writes "2015-05-20T02:07:48+0200": RFC 3339 wants "+02:00".
  if (s.size() > 5) {
    const std::size_t sign = s.size() - 5;
    if ((s[sign] == '+' || s[sign] == '-') && s.find(':', sign) == std::string::npos) {
      s.insert(s.size() - 2, ":");
    }
  }
  return parse_rfc3339(s);
}

const json* member(const json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(std::string(key));
  return it == obj.end() ? nullptr : &*it;
}

}  // namespace streamtrack::agent::sources
