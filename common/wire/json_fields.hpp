#pragma once

// Internal to common/wire: the JSON reading shared by the decoders of codec.cpp, ack_codec.cpp
// and frame.cpp.
// Not part of the wire contract; nothing outside common/wire includes it.

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/util/json_type.hpp"
#include "common/util/result.hpp"
#include "common/util/time.hpp"
#include "common/wire/flat_json.hpp"
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

// The JSON values FieldReader reads: a parsed tree's (json) or a SAX reader's (FlatValue).
inline json::value_t type_of(const json& v) {
  return v.type();
}
inline json::value_t type_of(const FlatValue& v) {
  return v.type;
}
inline const std::string& string_of(const json& v) {
  return v.get_ref<const std::string&>();
}
inline const std::string& string_of(const FlatValue& v) {
  return v.text;
}
inline std::uint64_t unsigned_of(const json& v) {
  return v.get<std::uint64_t>();
}
inline std::uint64_t unsigned_of(const FlatValue& v) {
  return v.unsigned_integer;
}
inline std::int64_t signed_of(const json& v) {
  return v.get<std::int64_t>();
}
inline std::int64_t signed_of(const FlatValue& v) {
  return v.integer;
}
// Any number as a double, converted as nlohmann converts it.
inline double double_of(const json& v) {
  return v.get<double>();
}
inline double double_of(const FlatValue& v) {
  switch (v.type) {
    case json::value_t::number_integer:
      return static_cast<double>(v.integer);
    case json::value_t::number_unsigned:
      return static_cast<double>(v.unsigned_integer);
    default:
      return v.number;
  }
}
inline bool bool_of(const json& v) {
  return v.get<bool>();
}
inline bool bool_of(const FlatValue& v) {
  return v.boolean;
}
inline const json* member(const json& obj, const char* key) {
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}
inline const FlatValue* member(const FlatObject& obj, const char* key) {
  return obj.find(key);
}

// Reads typed fields from a JSON object (a json tree or a FlatObject), remembering the first
// problem as a reason. The reasons are the same for both.
template <typename Object>
class BasicFieldReader {
 public:
  using Value = std::remove_cvref_t<decltype(*member(std::declval<const Object&>(), ""))>;

  // `prefix` names the enclosing object in reasons ("buffer." -> field "buffer.depth").
  explicit BasicFieldReader(const Object& obj, std::string prefix = {})
      : m_obj(obj), m_prefix(std::move(prefix)) {}

  bool failed() const { return !m_error.empty(); }
  const std::string& error() const { return m_error; }

  const Value* find(const char* key, bool required) {
    if (failed()) return nullptr;
    const Value* v = member(m_obj, key);
    if (!v && required) fail("missing required field \"" + m_prefix + key + "\"");
    return v;
  }

  std::optional<std::string> string(const char* key, bool required, std::size_t max_bytes,
                                    bool allow_empty = true) {
    const Value* v = find(key, required);
    if (!v) return std::nullopt;
    if (type_of(*v) != json::value_t::string) return wrong_type(key, "a string", *v), std::nullopt;
    const auto& s = string_of(*v);
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
    const Value* v = find(key, required);
    if (!v) return std::nullopt;
    if (type_of(*v) == json::value_t::number_unsigned) {
      const auto u = unsigned_of(*v);
      if (u > static_cast<std::uint64_t>(max) || static_cast<std::int64_t>(u) < min) {
        return out_of_range(key, std::to_string(u), min, max), std::nullopt;
      }
      return static_cast<std::int64_t>(u);
    }
    if (type_of(*v) != json::value_t::number_integer) {
      return wrong_type(key, "an integer", *v), std::nullopt;
    }
    const auto i = signed_of(*v);
    if (i < min || i > max) return out_of_range(key, std::to_string(i), min, max), std::nullopt;
    return i;
  }

  std::optional<double> number(const char* key, bool required, double min, double max) {
    const Value* v = find(key, required);
    if (!v) return std::nullopt;
    const auto type = type_of(*v);
    if (type != json::value_t::number_integer && type != json::value_t::number_unsigned &&
        type != json::value_t::number_float) {
      return wrong_type(key, "a number", *v), std::nullopt;
    }
    const auto d = double_of(*v);
    if (!std::isfinite(d) || d < min || d > max) {
      return field_fail(key, "out of range: " + format_number(d) + " (expected " +
                                 format_number(min) + ".." + format_number(max) + ")"),
             std::nullopt;
    }
    return d;
  }

  std::optional<bool> boolean(const char* key, bool required) {
    const Value* v = find(key, required);
    if (!v) return std::nullopt;
    if (type_of(*v) != json::value_t::boolean) {
      return wrong_type(key, "a boolean", *v), std::nullopt;
    }
    return bool_of(*v);
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
  void wrong_type(const char* key, const char* expected, const Value& got) {
    field_fail(key, std::string("expected ") + expected + ", got " + json_type_name(type_of(got)));
  }
  void out_of_range(const char* key, const std::string& got, std::int64_t min, std::int64_t max) {
    field_fail(key, "out of range: " + got + " (expected " + std::to_string(min) + ".." +
                        std::to_string(max) + ")");
  }

  const Object& m_obj;
  std::string m_prefix;
  std::string m_error;
};

using FieldReader = BasicFieldReader<json>;

// Why a payload cannot be a JSON object of at most `max_bytes` before it is parsed: too large,
// a raw NUL, nesting deeper than k_max_json_depth; nullopt when it may be parsed.
std::optional<std::string> payload_problem(std::string_view payload, std::size_t max_bytes);

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

// The members of a sample decode_sample reads (docs/sample.schema.json), for a FlatObject.
std::span<const std::string_view> sample_keys();
// decode_sample's checks on the members of a sample object (a payload, or one element of a
// frame's "samples"), as a SAX reader kept them; the same reasons.
Result<Sample> sample_from_fields(const FlatObject& fields);

}  // namespace streamtrack::wire::detail
