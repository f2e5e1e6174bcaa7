#pragma once

#include <toml++/toml.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "common/config/schema.hpp"
#include "common/config/toml_file.hpp"

// The steps every daemon's configuration loader shares (agent, collector, web): the text or the
// file with its drop-ins, validated against the daemon's root spec, the place it came from
// recorded, then the daemon's own reading of the validated tables. Config is a struct with
// `path`, `files` and `document` members.
namespace streamtrack::config {

// A daemon's reading of its validated configuration into `c`: reports what the declarations
// cannot check (cross-key rules, secrets) to `diag`.
template <typename Config>
using ReadConfig = void (*)(Config& c, const Section& root, Diagnostics& diag);

// Validates `document` (called `name` in messages) against `spec`, sets c.path = name and
// c.document, and calls `read` even when validation reported errors, so that one run lists
// every problem. Throws ConfigError with all of them.
template <typename Config>
Config build_config(const std::shared_ptr<const toml::table>& document, const std::string& name,
                    const TableSpec& spec, ReadConfig<Config> read) {
  Diagnostics diag(name);
  const auto root = validate(*document, spec, "", diag);
  Config c;
  c.path = name;
  c.document = document;
  read(c, root, diag);
  diag.throw_if_any();
  return c;
}

// build_config() over TOML text already in memory (tests, fuzzing); `files` stays empty.
template <typename Config>
Config parse_config(std::string_view text, const std::string& name, const TableSpec& spec,
                    ReadConfig<Config> read) {
  return build_config<Config>(std::make_shared<toml::table>(parse_toml_text(text, name)), name,
                              spec, read);
}

// build_config() over the file `path` and its drop-ins in `dropin_dir` next to it
// (load_toml_with_dropins); c.files lists the files read, the main one first.
template <typename Config>
Config load_config(const std::string& path, std::string_view dropin_dir, const TableSpec& spec,
                   ReadConfig<Config> read) {
  auto doc = load_toml_with_dropins(path, dropin_dir);
  auto c = build_config<Config>(doc.table, path, spec, read);
  c.files = std::move(doc.files);
  return c;
}

}  // namespace streamtrack::config
