#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/schema.hpp"

// The static registry of source types, keyed by the config `type`. Adding a platform means
// adding one directory under agent/sources/ and one entry in registry.cpp.
namespace streamtrack::agent {

struct SourceConfig;
namespace sources {
class Source;
}

struct SourceTypeInfo {
  std::string_view type;
  // Every key this type accepts in its [[source]] table: source_common_spec() and its own.
  const config::TableSpec& (*spec)();
  // Builds a source from its validated table; secrets are read now. Throws config::ConfigError
  // for settings only checkable here (unreadable secret, invalid JSON Pointer).
  std::unique_ptr<sources::Source> (*create)(const SourceConfig& source,
                                             const std::string& config_path);
  // The [[source]] entry `config example` shows for this type (tests validate it).
  config::TableExample example;
};

const std::vector<SourceTypeInfo>& source_types();
const SourceTypeInfo* find_source_type(std::string_view type);

// Keys every [[source]] table accepts: type, name, interval, timeout, ...
const config::TableSpec& source_common_spec();

}  // namespace streamtrack::agent
