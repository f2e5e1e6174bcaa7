#pragma once

#include <string_view>
#include <vector>

#include "common/config/schema.hpp"
#include "common/daemon/log.hpp"

// The log keys of every daemon's main table ([agent], [collector], [web]), declared once.
namespace streamtrack::config {

// `log_level` and `log_format`, both reloaded on SIGHUP.
std::vector<KeySpec> log_keys();

// Reads them from a section validated against a spec that includes log_keys().
void read_log_settings(const Section& table, log::Level& level, log::Format& format);

// `table` with log_keys() inserted after its key `after` (empty: first), so that each daemon
// keeps its own order in the generated example. Throws std::logic_error when there is no
// such key (a bug).
TableSpec with_log_keys(const TableSpec& table, std::string_view after);

}  // namespace streamtrack::config
