#pragma once

// Internal to common/wire: the JSON reading shared by the decoders of codec.cpp, ack_codec.cpp
// and frame.cpp.
// Not part of the wire contract; nothing outside common/wire includes it.

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/util/json_type.hpp"
#include "common/util/result.hpp"
#include "common/util/time.hpp"
#include "common/wire/sample.hpp"

namespace streamtrack::wire::detail {

using json = nlohmann::json;

inline constexpr std::int64_t k_max_safe_integer = (std::int64_t{1} << 53) - 1;
inline constexpr std::int64_t k_max_int32 = std::numeric_limits<std::int32_t>::max();
inline constexpr std::size_t k_max_name_bytes = 256;
inline constexpr std::size_t k_max_text_bytes = 4096;
// Deepest nesting of arrays and objects a payload may have (see parse_object).
inline constexpr std::size_t k_max_json_depth = 64;

// `d` as the encoder writes it.
std::string format_number(double d);

// Reads typed fields from a JSON object, remembering the first problem as a reason.
class FieldReader {
 public:
  // `prefix` names the enclosing object in reasons ("buffer." -> field "buffer.depth").
  explicit FieldReader(const json& obj, std::string prefix = {})
      : m_obj(obj), m_prefix(std::move(prefix)) {}

  bool failed() const { return !m_error.empty(); }
  const std::string& error() const { return m_error; }

  const json* find(const char* key, bool required) {
    if (failed()) return nullptr;
    const auto it = m_obj.find(key);
    if (it == m_obj.end()) {
      if (required) fail("missing required field \"" + m_prefix + key + "\"");
      return nullptr;
    }
    return &*it;
  }

  std::optional<std::string> string(const char* key, bool required, std::size_t max_bytes,
                                    bool allow_empty = true) {
    const json* v = find(key, required);
    if (!v) return std::nullopt;
    if (!v->is_string()) return wrong_type(key, "a string", *v), std::nullopt;
    const auto& s = v->get_ref<const std::string&>();
    if (s.empty() && !allow_empty) return field_fail(key, "must not be empty"), std::nullopt;
    // JSON allows \u0000, but no consumer's text does (C strings, PostgreSQL text).
    if (s.find('\0') != std::string::npos) {
      return field_fail(key, "contains a NUL character"), std::nullopt;
    }
    if (s.size() > max_bytes) {
      return field_fail(key, "too long: " + std::to_string(s.size()) + " bytes (limit " +
                                 std::to_string(max_bytes) + ")"),
             std::nullopt;
    }
    return s;
  }

  std::optional<std::int64_t> integer(const char* key, bool required, std::int64_t min,
                                      std::int64_t max) {
    const json* v = find(key, required);
    if (!v) return std::nullopt;
    if (v->is_number_unsigned()) {
      const auto u = v->get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(max) || static_cast<std::int64_t>(u) < min) {
        return out_of_range(key, std::to_string(u), min, max), std::nullopt;
      }
      return static_cast<std::int64_t>(u);
    }
    if (!v->is_number_integer()) return wrong_type(key, "an integer", *v), std::nullopt;
    const auto i = v->get<std::int64_t>();
    if (i < min || i > max) return out_of_range(key, std::to_string(i), min, max), std::nullopt;
    return i;
  }

  std::optional<double> number(const char* key, bool required, double min, double max) {
    const json* v = find(key, required);
    if (!v) return std::nullopt;
    if (!v->is_number()) return wrong_type(key, "a number", *v), std::nullopt;
    const auto d = v->get<double>();
    if (!std::isfinite(d) || d < min || d > max) {
      return field_fail(key, "out of range: " + format_number(d) + " (expected " +
                                 format_number(min) + ".." + format_number(max) + ")"),
             std::nullopt;
    }
    return d;
  }

  std::optional<bool> boolean(const char* key, bool required) {
    const json* v = find(key, required);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) return wrong_type(key, "a boolean", *v), std::nullopt;
    return v->get<bool>();
  }

  std::optional<TimePoint> timestamp(const char* key, bool required) {
    const auto text = string(key, required, 64);
    if (!text) return std::nullopt;
    auto t = parse_rfc3339(*text);
    if (!t) field_fail(key, "not an RFC 3339 timestamp: \"" + *text + "\"");
    return t;
  }

  void fail(std::string reason) {
    if (m_error.empty()) m_error = std::move(reason);
  }
  void field_fail(const char* key, const std::string& what) {
    fail("field \"" + m_prefix + key + "\": " + what);
  }

 private:
  void wrong_type(const char* key, const char* expected, const json& got) {
    field_fail(key, std::string("expected ") + expected + ", got " + json_type_name(got));
  }
  void out_of_range(const char* key, const std::string& got, std::int64_t min, std::int64_t max) {
    field_fail(key, "out of range: " + got + " (expected " + std::to_string(min) + ".." +
                        std::to_string(max) + ")");
  }

  const json& m_obj;
  std::string m_prefix;
  std::string m_error;
};

// Parses a payload that must be a JSON object of at most `max_bytes`; on failure returns the
// reason ("payload too large: ...", "invalid JSON at byte N", "expected a JSON object, got ...").
Result<json> parse_object(std::string_view payload, std::size_t max_bytes);

// Parses `payload` as one JSON object of at most `max_bytes` and lets `read` fill a T from its
// fields; the parse error or the first problem `read` reported to the FieldReader is the
// failure. The shape of every object decoder (status, health, ack).
template <typename T, typename Read>
Result<T> decode_object(std::string_view payload, std::size_t max_bytes, Read read) {
  auto doc = parse_object(payload, max_bytes);
  if (!doc) return Result<T>::failure(doc.error());
  FieldReader r(*doc);
  T out;
  read(r, out);
  if (r.failed()) return Result<T>::failure(r.error());
  return out;
}

// decode_sample's checks on an already parsed JSON object (a payload, or one element of a
// frame's "samples"); the same reasons.
Result<Sample> sample_from_json(const json& doc);

}  // namespace streamtrack::wire::detail
