#pragma once

#include <toml++/toml.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace streamtrack::config {

// Parses a TOML file. Throws ConfigError with "file:line:column: ..." on a missing file or a
// syntax error.
toml::table parse_toml_file(const std::string& path);

// The same for text already in memory; `name` is what error messages call it.
toml::table parse_toml_text(std::string_view text, const std::string& name);

// Merges `overlay` into `base` (the rule drop-in files follow): tables merge key by key, an
// array of tables ([[source]], [[alert]]) gets the overlay's entries appended after its own,
// and any other value (a string, a number, an array of strings) set in `overlay` replaces the
// one in `base`: the later file wins. Every node keeps the source position (file, line,
// column) it was parsed with.
void merge_into(toml::table& base, toml::table&& overlay);

// A configuration file with its drop-ins merged in.
struct Document {
  std::shared_ptr<toml::table> table;
  std::vector<std::string> files;  // the main file first, then each drop-in in the order read
};

// Parses `path`, then every file named *.toml in the directory `dropin_dir` next to it
// (e.g. /etc/streamtrack/agent.d for /etc/streamtrack/agent.toml), in byte order of the file
// names, and merges each into the result (merge_into). A missing drop-in directory is not an
// error; names starting with '.' and names not ending in ".toml" are skipped. Throws
// ConfigError listing every problem: a file that cannot be read, a syntax error (each
// "file:line:column: ..."), a drop-in path that is not a directory, a *.toml entry that is not
// a regular file.
Document load_toml_with_dropins(const std::string& path, std::string_view dropin_dir);

}  // namespace streamtrack::config
