#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

// One event a line on stderr, thread-safe. Messages read "component: event key=value ...".
// The line format is chosen by log_format:
//   journal  "<6>agent: ready server=..."  (sd-daemon priority prefix: journald keeps the level)
//   logfmt   ts=2026-01-02T03:04:05.678Z level=info component=agent msg=ready server=...
//   json     {"ts":"2026-…Z","level":"info","component":"agent","msg":"ready","server":"..."}
namespace streamtrack::log {

enum class Level { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };
enum class Format { journal, logfmt, json };

// "error", "warning", "notice", "info", "debug"; nullopt for anything else.
std::optional<Level> parse_level(std::string_view name);
std::string_view level_name(Level level);
// "journal", "logfmt", "json"; nullopt for anything else.
std::optional<Format> parse_format(std::string_view name);

void set_level(Level level);
Level level();
bool enabled(Level level);
void set_format(Format format);
Format format();

void write(Level level, std::string_view message);

// The line write() prints for `message` (without the newline). The component is the text
// before the first ": " when it is one word; key=value fields are the words from the first
// one that looks like `key=` (values quoted by quote() are kept whole); a field named ts,
// level, component or msg is printed as field_<name> so the line has no duplicate key.
// Pure: for tests.
std::string format_line(Format format, Level level, std::string_view message,
                        std::chrono::system_clock::time_point now);

inline void error(std::string_view m) {
  write(Level::error, m);
}
inline void warning(std::string_view m) {
  write(Level::warning, m);
}
inline void notice(std::string_view m) {
  write(Level::notice, m);
}
inline void info(std::string_view m) {
  write(Level::info, m);
}
inline void debug(std::string_view m) {
  if (enabled(Level::debug)) write(Level::debug, m);
}

// A value for a key=value log field, as it came (plain) when it is not empty and has no space,
// '=', '"', backslash, control character or invalid UTF-8; else in double quotes with '"' and
// '\\' escaped by a backslash, \n \r \t as such, every other C0 control, DEL, each byte of a
// C1 control (U+0080..U+009F) and each byte that is not part of valid UTF-8 as \xNN (lowercase
// hex). Whatever the input, the result holds no control character and is valid UTF-8: a value
// from a broker can neither start a line nor talk to a terminal. format_line() reads the
// escapes back (logfmt writes them again; JSON carries the value, U+FFFD for invalid UTF-8).
std::string quote(std::string_view value);

}  // namespace streamtrack::log
