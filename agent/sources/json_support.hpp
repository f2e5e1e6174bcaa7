#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/util/json_type.hpp"  // json_type_name, for the parsers that include this
#include "common/util/result.hpp"
#include "common/util/time.hpp"

// Small helpers shared by the JSON parsers of agent/sources/<type>/.
namespace streamtrack::agent::sources {

// Parses a body; the error is "invalid JSON: <where and why>" (also for empty/truncated bodies).
Result<nlohmann::json> parse_json(std::string_view body);

// A non-negative integer (also an integral float or a decimal string such as "1490"); nullopt
// for anything else.
std::optional<std::int64_t> as_count(const nlohmann::json& value);

// A number (also a numeric string); nullopt for anything else.
std::optional<double> as_number(const nlohmann::json& value);

// A string, or a number/boolean written as text; nullopt for null, arrays and objects.
std::optional<std::string> as_text(const nlohmann::json& value);

// An RFC 3339 string, also with a "+0200" offset (no colon); nullopt otherwise.
std::optional<TimePoint> as_time(const nlohmann::json& value);

// The member `key` of an object, or nullptr when `obj` is not an object or lacks it.
const nlohmann::json* member(const nlohmann::json& obj, std::string_view key);

}  // namespace streamtrack::agent::sources
