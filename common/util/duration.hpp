#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace streamtrack {

// Parses durations written as one or more number-unit pairs: "500ms", "10s", "5m", "2h",
// "1d", "1m30s". Units: ms, s, m, h, d. Returns nullopt for anything else (no unit, negative,
// fractional, overflow, empty).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// The shortest exact spelling parse_duration accepts: 90000ms -> "1m30s", 0 -> "0s".
std::string format_duration(std::chrono::milliseconds d);

}  // namespace streamtrack
