#pragma once

#include <string>
#include <string_view>

#include "common/config/schema.hpp"

// The commented configuration file generated from the key declarations, as printed by
// `<daemon> config example` and shipped as conf/<daemon>.toml (a test keeps them equal).
namespace streamtrack::config {

// Renders `root` (a daemon's root spec): `header` (lines, printed as comments) first, then
// for each table its description and each key with its description, default, constraints and
// whether SIGHUP applies it. A key is printed uncommented when it is required or declared
// example_active; its value is its declared example, else its default. Each table array
// lists the keys of its entries (KeySpec::nested) and then its TableExamples, active ones
// uncommented. The result is valid TOML; active entries must make it a valid configuration.
std::string render_example(const TableSpec& root, std::string_view header);

// A default or example value as TOML text: "\"info\"", "5000", "true", "[\"a\", \"b\"]".
std::string toml_literal(const DefaultValue& value, ValueType type);

}  // namespace streamtrack::config
