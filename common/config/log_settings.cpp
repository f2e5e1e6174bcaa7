#include "common/config/log_settings.hpp"

#include <algorithm>
#include <stdexcept>

namespace streamtrack::config {

std::vector<KeySpec> log_keys() {
  return {
      {.name = "log_level",
       .default_value = std::string("info"),
       .description = "Least severe level logged.",
       .one_of = {"error", "warning", "notice", "info", "debug"},
       .reloads = true,
       .example_active = true},
      {.name = "log_format",
       .default_value = std::string("journal"),
       .description = "Log lines on stderr: \"journal\" (sd-daemon priority prefix, for "
                      "journald), \"logfmt\" (ts=... level=... key=value) or \"json\" (one "
                      "object a line).",
       .one_of = {"journal", "logfmt", "json"},
       .reloads = true},
  };
}

void read_log_settings(const Section& table, log::Level& level, log::Format& format) {
  level = log::parse_level(table.string("log_level")).value_or(log::Level::info);
  format = log::parse_format(table.string("log_format")).value_or(log::Format::journal);
}

TableSpec with_log_keys(const TableSpec& table, std::string_view after) {
  TableSpec out = table;
  auto at = out.keys.begin();
  if (!after.empty()) {
    at = std::find_if(out.keys.begin(), out.keys.end(),
                      [&](const KeySpec& k) { return k.name == after; });
    if (at == out.keys.end()) throw std::logic_error("with_log_keys: no key " + std::string(after));
    ++at;
  }
  const auto logs = log_keys();
  out.keys.insert(at, logs.begin(), logs.end());
  return out;
}

}  // namespace streamtrack::config
