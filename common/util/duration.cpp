#include "common/util/duration.hpp"

#include <cstdint>
#include <limits>

namespace streamtrack {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::size_t pos = 0;
  constexpr std::int64_t k_max = std::numeric_limits<std::int64_t>::max() / 1000;
  while (pos < s.size()) {
    std::int64_t number = 0;
    const std::size_t digits_start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (number > (k_max - 9) / 10) return std::nullopt;
      number = number * 10 + (s[pos] - '0');
      ++pos;
    }
    if (pos == digits_start) return std::nullopt;
    const std::size_t unit_start = pos;
    while (pos < s.size() && s[pos] >= 'a' && s[pos] <= 'z') ++pos;
    const std::string_view unit = s.substr(unit_start, pos - unit_start);
    std::int64_t scale;
    if (unit == "ms") {
      scale = 1;
    } else if (unit == "s") {
      scale = 1000;
    } else if (unit == "m") {
      scale = 60'000;
    } else if (unit == "h") {
      scale = 3'600'000;
    } else if (unit == "d") {
      scale = 86'400'000;
    } else {
      return std::nullopt;
    }
    if (number > k_max / scale * 1000 / 1000 || number * scale > k_max - total) return std::nullopt;
    total += number * scale;
  }
  return std::chrono::milliseconds{total};
}

std::string format_duration(std::chrono::milliseconds d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  const struct {
    std::int64_t scale;
    const char* unit;
  } units[] = {{86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}};
  for (const auto& u : units) {
    if (ms >= u.scale) {
      out += std::to_string(ms / u.scale) + u.unit;
      ms %= u.scale;
    }
  }
  return out;
}

}  // namespace streamtrack
