#include "common/daemon/log.hpp"

#include <atomic>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

namespace streamtrack::log {

namespace {
std::atomic<Level> g_level{Level::info};
std::atomic<Format> g_format{Format::journal};
std::mutex g_mutex;

bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.';
}

// Where the key=value fields start in `text` (npos when none): a word boundary followed by
// key characters and '='.
std::size_t fields_start(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i > 0 && text[i - 1] != ' ') continue;
    std::size_t j = i;
    while (j < text.size() && is_key_char(text[j])) ++j;
    if (j > i && j < text.size() && text[j] == '=') return i;
  }
  return std::string_view::npos;
}

// Splits "a=1 b=\"x y\" c" into pairs; a word without '=' is appended to the previous
// value (a value that was not quoted but had spaces).
std::vector<std::pair<std::string, std::string>> split_fields(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    if (i >= text.size()) break;
    std::size_t k = i;
    while (k < text.size() && is_key_char(text[k])) ++k;
    const bool keyed = k > i && k < text.size() && text[k] == '=';
    std::string value;
    std::size_t v = keyed ? k + 1 : i;
    if (v < text.size() && text[v] == '"') {
      ++v;
      while (v < text.size() && text[v] != '"') {
        if (text[v] == '\\' && v + 1 < text.size()) {
          ++v;
          value += text[v] == 'n' ? '\n' : text[v];
        } else {
          value += text[v];
        }
        ++v;
      }
      if (v < text.size()) ++v;  // closing quote
    } else {
      while (v < text.size() && text[v] != ' ') value += text[v++];
    }
    if (keyed) {
      out.emplace_back(std::string(text.substr(i, k - i)), std::move(value));
    } else if (!out.empty()) {
      out.back().second += " " + value;
    }
    i = v;
  }
  return out;
}

// A field from the message keeps its name unless it would repeat one of the line's own keys
// (ts, level, component, msg); then it is printed as field_<name>, in logfmt as in json.
std::string field_key(const std::string& key) {
  if (key == "ts" || key == "level" || key == "component" || key == "msg") return "field_" + key;
  return key;
}

std::string timestamp(std::chrono::system_clock::time_point now) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  const std::time_t secs = static_cast<std::time_t>(ms.count() / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[96];  // room for any int the compiler imagines
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms.count() % 1000));
  return buf;
}

}  // namespace

std::optional<Level> parse_level(std::string_view name) {
  if (name == "error") return Level::error;
  if (name == "warning") return Level::warning;
  if (name == "notice") return Level::notice;
  if (name == "info") return Level::info;
  if (name == "debug") return Level::debug;
  return std::nullopt;
}

std::string_view level_name(Level l) {
  switch (l) {
    case Level::error:
      return "error";
    case Level::warning:
      return "warning";
    case Level::notice:
      return "notice";
    case Level::info:
      return "info";
    case Level::debug:
      return "debug";
  }
  return "info";
}

std::optional<Format> parse_format(std::string_view name) {
  if (name == "journal") return Format::journal;
  if (name == "logfmt") return Format::logfmt;
  if (name == "json") return Format::json;
  return std::nullopt;
}

void set_level(Level level) {
  g_level.store(level);
}
Level level() {
  return g_level.load();
}
bool enabled(Level l) {
  return static_cast<int>(l) <= static_cast<int>(g_level.load());
}
void set_format(Format f) {
  g_format.store(f);
}
Format format() {
  return g_format.load();
}

std::string format_line(Format f, Level l, std::string_view message,
                        std::chrono::system_clock::time_point now) {
  if (f == Format::journal) {
    return "<" + std::to_string(static_cast<int>(l)) + ">" + std::string(message);
  }
  std::string_view component;
  std::string_view rest = message;
  if (const auto colon = message.find(": ");
      colon != std::string_view::npos &&
      message.substr(0, colon).find(' ') == std::string_view::npos) {
    component = message.substr(0, colon);
    rest = message.substr(colon + 2);
  }
  const auto start = fields_start(rest);
  std::string_view msg = rest.substr(0, start);
  while (!msg.empty() && msg.back() == ' ') msg.remove_suffix(1);
  const auto fields = start == std::string_view::npos ? decltype(split_fields(rest)){}
                                                      : split_fields(rest.substr(start));
  if (f == Format::logfmt) {
    std::string line = "ts=" + timestamp(now) + " level=" + std::string(level_name(l));
    if (!component.empty()) line += " component=" + quote(component);
    line += " msg=" + quote(msg);
    for (const auto& [k, v] : fields) line += " " + field_key(k) + "=" + quote(v);
    return line;
  }
  nlohmann::ordered_json j;
  j["ts"] = timestamp(now);
  j["level"] = level_name(l);
  if (!component.empty()) j["component"] = component;
  j["msg"] = msg;
  for (const auto& [k, v] : fields) j[field_key(k)] = v;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write(Level l, std::string_view message) {
  if (!enabled(l)) return;
  std::string line = format_line(g_format.load(), l, message, std::chrono::system_clock::now());
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
