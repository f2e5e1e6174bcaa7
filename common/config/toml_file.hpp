#pragma once

#include <string>

#include <toml++/toml.h>

namespace streamtrack::config {

// Parses a TOML file. Throws ConfigError with "file:line:column: ..." on a missing file or a
// syntax error.
toml::table parse_toml_file(const std::string& path);

// The same for text already in memory; `name` is what error messages call it.
toml::table parse_toml_text(std::string_view text, const std::string& name);

}  // namespace streamtrack::config
