#include "web/api/params.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "common/util/base64.hpp"

namespace streamtrack::web::api {

using nlohmann::json;

std::string ApiError::body() const {
  json error{{"code", m_code}, {"message", what()}};
  error["parameter"] = m_parameter.empty() ? json(nullptr) : json(m_parameter);
  return json{{"error", error}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

ApiError bad_parameter(const std::string& parameter, const std::string& message) {
  return ApiError(400, "bad_parameter", parameter, message);
}

ApiError not_found(const std::string& parameter, const std::string& message) {
  return ApiError(404, "not_found", parameter, message);
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

std::optional<std::int64_t> to_int(std::string_view s) {
  std::int64_t v = 0;
  if (s.empty() || s.size() > 19) return std::nullopt;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  if (out.find('\0') != std::string::npos || !valid_utf8(out)) return std::nullopt;
  return out;
}

Query::Query(std::string_view raw, const std::set<std::string>& allowed) {
  if (raw.size() > 4096) throw bad_parameter("", "the query string is longer than 4096 bytes");
  while (!raw.empty()) {
    const auto amp = raw.find('&');
    const auto part = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view{} : raw.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    const auto key = percent_decode(part.substr(0, eq), true);
    if (!key) throw bad_parameter("", "a parameter name is not valid percent-encoded UTF-8");
    const auto value = percent_decode(
        eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1), true);
    if (!value) throw bad_parameter(*key, "not valid percent-encoded UTF-8");
    if (!allowed.contains(*key)) {
      std::string known;
      for (const auto& a : allowed) known += (known.empty() ? "" : ", ") + a;
      throw bad_parameter(
          *key, "unknown parameter" + (known.empty() ? std::string(" (this endpoint takes none)")
                                                     : " (known: " + known + ")"));
    }
    if (!m_values.emplace(*key, *value).second) throw bad_parameter(*key, "given more than once");
  }
}

std::optional<std::string> Query::get(const std::string& key) const {
  const auto it = m_values.find(key);
  return it == m_values.end() ? std::nullopt : std::optional<std::string>(it->second);
}

std::optional<std::int64_t> Query::optional_integer(const std::string& key, std::int64_t min,
                                                    std::int64_t max) const {
  const auto v = get(key);
  if (!v) return std::nullopt;
  const auto n = to_int(*v);
  if (!n || *n < min || *n > max) {
    throw bad_parameter(
        key, "expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return n;
}

std::int64_t Query::integer(const std::string& key, std::int64_t fallback, std::int64_t min,
                            std::int64_t max) const {
  return optional_integer(key, min, max).value_or(fallback);
}

std::string Query::choice(const std::string& key, const std::string& fallback,
                          const std::set<std::string>& choices) const {
  const auto v = get(key);
  if (!v) return fallback;
  if (!choices.contains(*v)) {
    std::string list;
    for (const auto& c : choices) list += (list.empty() ? "" : "|") + c;
    throw bad_parameter(key, "expected one of " + list);
  }
  return *v;
}

std::optional<bool> Query::boolean(const std::string& key) const {
  const auto v = get(key);
  if (!v) return std::nullopt;
  if (*v == "true") return true;
  if (*v == "false") return false;
  throw bad_parameter(key, "expected true or false");
}

std::optional<TimePoint> Query::time(const std::string& key) const {
  const auto v = get(key);
  if (!v) return std::nullopt;
  const auto t = v->size() <= 64 ? parse_rfc3339(*v) : std::nullopt;
  using namespace std::chrono;
  if (!t || *t < sys_days{year{1970} / 1 / 1} || *t >= sys_days{year{10000} / 1 / 1}) {
    throw bad_parameter(key, "expected an RFC 3339 time like 2026-11-25T01:00:00Z");
  }
  return t;
}

std::optional<std::string> Query::text(const std::string& key, std::size_t max_bytes) const {
  auto v = get(key);
  if (v && v->size() > max_bytes) {
    throw bad_parameter(key, "longer than " + std::to_string(max_bytes) + " bytes");
  }
  return v;
}

std::int64_t parse_id(std::string_view segment, const std::string& parameter) {
  const auto n = to_int(segment);
  if (!n || *n <= 0) throw bad_parameter(parameter, "expected a positive integer id");
  return *n;
}

std::string encode_cursor(const std::string& kind, const std::string& key, std::int64_t id) {
  return base64_encode(json{{"k", kind}, {"v", key}, {"i", id}}.dump(), Base64Alphabet::url);
}

ApiError bad_cursor() {
  return bad_parameter("cursor", "not a cursor from a previous reply of this list");
}

Cursor decode_cursor(std::string_view text, const std::string& kind) {
  const auto fail = bad_cursor;
  if (text.size() > 1024) throw fail();
  const auto raw = base64_decode(text, Base64Alphabet::url);
  if (!raw) throw fail();
  const auto j = json::parse(*raw, nullptr, false);
  if (!j.is_object() || !j.contains("k") || !j["k"].is_string() || j["k"] != kind ||
      !j.contains("v") || !j["v"].is_string() || !j.contains("i") || !j["i"].is_number_integer()) {
    throw fail();
  }
  return {j["v"].get<std::string>(), j["i"].get<std::int64_t>()};
}

SeriesPlan plan_series(TimePoint from, TimePoint to, std::optional<std::int64_t> step,
                       std::chrono::milliseconds raw_max_span, std::int64_t max_points) {
  using namespace std::chrono;
  if (to <= from) throw bad_parameter("to", "must be later than from");
  const auto span = to - from;
  if (span > days{5 * 366}) throw bad_parameter("from", "the window is longer than 5 years");
  if (step && (*step < 1 || *step > std::int64_t{366} * 86400)) {
    throw bad_parameter("step", "expected seconds from 1 to 31622400");
  }
  const auto span_s = duration_cast<seconds>(span).count() + 1;
  const auto fit = (span_s + max_points - 1) / max_points;  // smallest step within max_points
  SeriesPlan plan;
  plan.hourly = span > raw_max_span || (step && *step >= 3600);
  auto chosen = std::max<std::int64_t>(step.value_or(1), fit);
  if (plan.hourly) chosen = std::max<std::int64_t>(1, (chosen + 3599) / 3600) * 3600;
  plan.step_seconds = std::max<std::int64_t>(1, chosen);
  return plan;
}

std::string csv_field(std::string_view text) {
  std::string s(text);
  if (!s.empty() &&
      (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r')) {
    s.insert(s.begin(), '\'');
  }
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace streamtrack::web::api
