#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/config/schema.hpp"

// What one source type hands to the registry (agent/sources/registry.cpp): each directory
// agent/sources/<type>/ defines a `source_type()` returning this, next to its code.
namespace streamtrack::agent {

struct SourceConfig;
namespace sources {
class Source;
}

struct SourceTypeInfo {
  std::string_view type;
  // Every key this type accepts in its [[source]] table: one of the shared declarations of
  // agent/sources/source_config.hpp (which start with source_common_spec()), extended by its own.
  const config::TableSpec& (*spec)();
  // Builds a source from its validated table; secrets are read now. Throws config::ConfigError
  // for settings only checkable here (unreadable secret, invalid JSON Pointer).
  std::unique_ptr<sources::Source> (*create)(const SourceConfig& source,
                                             const std::string& config_path);
  // The [[source]] entry `config example` shows for this type (tests validate it).
  config::TableExample example;
};

}  // namespace streamtrack::agent
