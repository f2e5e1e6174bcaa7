#include "common/daemon/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace streamtrack::log {

namespace {
std::atomic<Level> g_level{Level::info};
std::mutex g_mutex;
}  // namespace

std::optional<Level> parse_level(std::string_view name) {
  if (name == "error") return Level::error;
  if (name == "warning") return Level::warning;
  if (name == "notice") return Level::notice;
  if (name == "info") return Level::info;
  if (name == "debug") return Level::debug;
  return std::nullopt;
}

void set_level(Level level) { g_level.store(level); }
Level level() { return g_level.load(); }
bool enabled(Level l) { return static_cast<int>(l) <= static_cast<int>(g_level.load()); }

void write(Level l, std::string_view message) {
  if (!enabled(l)) return;
  std::string line = "<" + std::to_string(static_cast<int>(l)) + ">";
  line.append(message);
  line += '\n';
  std::lock_guard lock(g_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

std::string quote(std::string_view value) {
  const bool plain = !value.empty() && value.find_first_of(" \"=\t\n") == std::string_view::npos;
  if (plain) return std::string(value);
  std::string out = "\"";
  for (const char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace streamtrack::log
