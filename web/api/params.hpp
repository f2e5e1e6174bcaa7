#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/util/time.hpp"

// Query-string parsing for the API. Every refusal is an ApiError naming the parameter; the
// values that come out are typed and range-checked, ready to be passed as SQL parameters.
namespace streamtrack::web::api {

// An error reply: {"error":{"code":..., "parameter":..., "message":...}}.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string code, std::string parameter, const std::string& message)
      : std::runtime_error(message),
        m_status(status),
        m_code(std::move(code)),
        m_parameter(std::move(parameter)) {}
  int status() const { return m_status; }
  const std::string& code() const { return m_code; }
  const std::string& parameter() const { return m_parameter; }
  std::string body() const;  // the JSON text

 private:
  int m_status;
  std::string m_code;
  std::string m_parameter;
};

ApiError bad_parameter(const std::string& parameter, const std::string& message);
ApiError not_found(const std::string& parameter, const std::string& message);

// Percent-decodes `text` ('+' is a space in a query). nullopt on a malformed escape, NUL or
// invalid UTF-8.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

// A parsed query string. Construction refuses malformed encoding, repeated keys, keys not in
// `allowed` and more than 4 KB of query.
class Query {
 public:
  Query(std::string_view raw, const std::set<std::string>& allowed);

  std::optional<std::string> get(const std::string& key) const;
  // An integer in [min, max]; `fallback` when absent.
  std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t min,
                       std::int64_t max) const;
  std::optional<std::int64_t> optional_integer(const std::string& key, std::int64_t min,
                                               std::int64_t max) const;
  // One of `choices`; `fallback` when absent.
  std::string choice(const std::string& key, const std::string& fallback,
                     const std::set<std::string>& choices) const;
  std::optional<bool> boolean(const std::string& key) const;
  // An RFC 3339 time between year 1970 and 9999.
  std::optional<TimePoint> time(const std::string& key) const;
  // Text of at most `max_bytes` bytes.
  std::optional<std::string> text(const std::string& key, std::size_t max_bytes) const;

 private:
  std::map<std::string, std::string> m_values;
};

// A path segment that must be a positive id ("42"); throws not_found naming `parameter`.
std::int64_t parse_id(std::string_view segment, const std::string& parameter);

// Opaque cursors: base64url of a small JSON object. decode_cursor throws bad_parameter
// ("cursor") on anything that is not a cursor this server made for the same `kind`.
std::string encode_cursor(const std::string& kind, const std::string& key, std::int64_t id);
struct Cursor {
  std::string key;
  std::int64_t id = 0;
};
Cursor decode_cursor(std::string_view text, const std::string& kind);
// The error every refused cursor gets (whatever was wrong with it, the client learns only this).
ApiError bad_cursor();

// The server's choice of resolution and step for a series over [from, to).
struct SeriesPlan {
  bool hourly = false;
  std::int64_t step_seconds = 0;
};
// Throws bad_parameter: `to` not after `from` ("to"), a window over 5 years ("from"), a step
// outside 1 s..1 year ("step"). Raw rows when the window is at most `raw_max_span` and no step
// of an hour or more was asked for; the step grows so that at most `max_points` points come
// back, and is a whole number of hours for the hourly table.
SeriesPlan plan_series(TimePoint from, TimePoint to, std::optional<std::int64_t> step,
                       std::chrono::milliseconds raw_max_span, std::int64_t max_points);

// Quotes a CSV field (RFC 4180); a text that a spreadsheet would run as a formula
// (starting with = + - @ tab or CR) gets a leading apostrophe.
std::string csv_field(std::string_view text);

}  // namespace streamtrack::web::api
