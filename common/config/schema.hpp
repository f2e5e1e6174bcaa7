#pragma once

#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

// Configuration declared as data: every table a daemon reads is a TableSpec, one KeySpec per
// key (name, type, default, constraints, description). validate() checks a parsed TOML table
// against it, and the returned Section hands out typed values with defaults applied.
namespace streamtrack::config {

enum class ValueType {
  string,
  integer,
  floating,  // accepts integers too
  boolean,
  duration,     // a string such as "500ms", "10s", "5m"
  string_list,  // array of strings
  table,        // nested table: checked against `nested`, or a free-form string map if null
  table_array,  // array of tables, validated by the caller (e.g. [[source]] by type)
};

// The longest duration any key accepts, whatever its KeySpec::max says: ten years ("3650d"). A
// clock counting nanoseconds in 64 bits (steady or system) can add it to its time for another
// two centuries, so no configured duration overflows `now + duration` (undefined behaviour).
inline constexpr std::int64_t k_max_duration_ms = std::int64_t{3650} * 86'400'000;

using DefaultValue =
    std::variant<std::monostate, std::string, std::int64_t, double, bool, std::vector<std::string>>;

struct TableSpec;

// An entry of an array of tables ([[name]]) shown by `config example`: `toml` holds the
// entry's keys as TOML lines. An active entry is part of the generated configuration; any
// other is printed commented out. Tests check that every entry validates.
struct TableExample {
  std::string comment{};
  std::string toml{};
  bool active = false;
};

struct KeySpec {
  std::string name{};
  ValueType type = ValueType::string;
  bool required = false;
  DefaultValue default_value{};  // for durations: the duration text, e.g. std::string("10s")
  std::string description{};
  std::optional<std::int64_t> min{};  // integers; durations in milliseconds
  std::optional<std::int64_t> max{};  // durations: never beyond k_max_duration_ms either
  std::vector<std::string> one_of{};  // allowed strings
  // ValueType::table: its keys. ValueType::table_array: the keys every entry has, for the
  // generated example (entries are validated by the caller).
  const TableSpec* nested = nullptr;
  // Whether a running daemon applies a new value on SIGHUP (shown by `config example`). For
  // a table or table array: the whole of it, unless its own keys say otherwise.
  bool reloads = false;
  // TOML value shown in the example when it differs from the default (e.g. a required dsn).
  std::string example{};
  // Shown uncommented in the generated configuration (required keys always are).
  bool example_active = false;
  std::vector<TableExample> examples{};  // ValueType::table_array
};

struct TableSpec {
  std::vector<KeySpec> keys;
  std::string description{};  // comment above the table in the generated example
  const KeySpec* find(std::string_view name) const;
};

// A spec followed by more keys (used to extend a shared table, such as [mqtt]).
TableSpec extend(const TableSpec& base, std::vector<KeySpec> more);

// Every error found in a config file, one line each, "file:line:column: path: key: message".
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<std::string> messages);
  const std::vector<std::string>& messages() const { return m_messages; }

 private:
  std::vector<std::string> m_messages;
};

struct SourcePosition {
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  // The file the node came from (a drop-in); empty: the Diagnostics' own file.
  std::string file{};
};

// Collects errors for one file; throw_if_any() turns them into a ConfigError.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : m_file(std::move(file)) {}
  const std::string& file() const { return m_file; }
  // `context` names the table ("mqtt", "source \"rig\""), may be empty for the root table.
  void error(const SourcePosition& where, std::string_view context, std::string_view key,
             std::string_view message);
  bool empty() const { return m_messages.empty(); }
  const std::vector<std::string>& messages() const { return m_messages; }
  void throw_if_any() const;

 private:
  std::string m_file;
  std::vector<std::string> m_messages;
};

// A validated table: typed getters return the configured value or the spec default.
// Getters for keys not in the spec, or with a mismatched type, throw std::logic_error (a bug).
class Section {
 public:
  Section() = default;
  Section(const toml::table* table, const TableSpec* spec, std::string context);

  const std::string& context() const { return m_context; }
  bool has(std::string_view key) const;  // present in the file (defaults do not count)

  std::string string(std::string_view key) const;
  std::optional<std::string> optional_string(std::string_view key) const;
  std::int64_t integer(std::string_view key) const;
  std::optional<std::int64_t> optional_integer(std::string_view key) const;
  double floating(std::string_view key) const;
  bool boolean(std::string_view key) const;
  std::chrono::milliseconds duration(std::string_view key) const;
  std::optional<std::chrono::milliseconds> optional_duration(std::string_view key) const;
  std::vector<std::string> strings(std::string_view key) const;
  std::map<std::string, std::string> string_map(std::string_view key) const;  // free-form table
  Section table(std::string_view key) const;  // empty Section with defaults when absent
  // Tables of a table_array key, in file order.
  std::vector<const toml::table*> table_array(std::string_view key) const;

  // Where a key (or, if absent, the table itself) sits in the file.
  SourcePosition position(std::string_view key = {}) const;
  const toml::table* raw() const { return m_table; }

 private:
  const toml::node* node(std::string_view key) const;
  const KeySpec& spec(std::string_view key, ValueType type) const;

  const toml::table* m_table = nullptr;
  const TableSpec* m_spec = nullptr;
  std::string m_context;
};

// Checks `table` against `spec`: unknown keys (with a suggestion), wrong types, missing
// required keys, ranges, allowed values, nested tables. Errors go to `diag`.
Section validate(const toml::table& table, const TableSpec& spec, std::string context,
                 Diagnostics& diag);

// Dotted paths of the keys whose value differs between `before` and `after` (both validated
// against `root`) and that are not declared `reloads`: what a SIGHUP leaves for a restart.
// A table array not declared `reloads` counts as one key.
std::vector<std::string> restart_only_changes(const TableSpec& root, const toml::table& before,
                                              const toml::table& after);

// Position of a TOML node in its file.
SourcePosition position_of(const toml::node& node);

// Reads a secret named by a `*_file` key. A relative path is resolved against
// $CREDENTIALS_DIRECTORY when that is set (systemd LoadCredential=); when the key is absent,
// $CREDENTIALS_DIRECTORY/<credential> is used if it exists. Trailing newlines are removed.
// Returns nullopt when no secret is configured; a configured but unreadable file is an error.
std::optional<std::string> read_secret(const Section& section, std::string_view file_key,
                                       std::string_view credential, Diagnostics& diag);

}  // namespace streamtrack::config
