#pragma once

#include <optional>
#include <string>
#include <string_view>

// One event a line on stderr, prefixed with the sd-daemon priority ("<6>") so journald keeps
// the level. Thread-safe.
namespace streamtrack::log {

enum class Level { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

// "error", "warning", "notice", "info", "debug"; nullopt for anything else.
std::optional<Level> parse_level(std::string_view name);

void set_level(Level level);
Level level();
bool enabled(Level level);

void write(Level level, std::string_view message);

inline void error(std::string_view m) { write(Level::error, m); }
inline void warning(std::string_view m) { write(Level::warning, m); }
inline void notice(std::string_view m) { write(Level::notice, m); }
inline void info(std::string_view m) { write(Level::info, m); }
inline void debug(std::string_view m) {
  if (enabled(Level::debug)) write(Level::debug, m);
}

// Quotes a value for key=value log fields when it has spaces, quotes or is empty.
std::string quote(std::string_view value);

}  // namespace streamtrack::log
