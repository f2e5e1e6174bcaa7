#include "common/daemon/log.hpp"

#include <atomic>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "common/wire/utf8.hpp"

namespace streamtrack::log {

namespace {
std::atomic<Level> g_level{Level::info};
std::atomic<Format> g_format{Format::journal};
std::mutex g_mutex;

bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.';
}

// The lowercase hex digit of the low four bits of `value`.
char hex_digit(unsigned value) {
  return "0123456789abcdef"[value & 15u];
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_hex_escape(std::string& out, unsigned char byte) {
  out += "\\x";
  out += hex_digit(static_cast<unsigned>(byte) >> 4u);
  out += hex_digit(byte);
}

// True for code points a terminal may act on: C0 controls, DEL and C1 controls.
bool is_control(std::uint32_t code_point) {
  return code_point < 0x20 || (code_point >= 0x7f && code_point < 0xa0);
}

// Reads the escape quote() wrote at text[at] (a backslash) into `out`; returns the index after
// it. An unknown escape stands for the character after the backslash.
std::size_t unescape_at(std::string_view text, std::size_t at, std::string& out) {
  const char c = text[at + 1];
  if (c == 'n') {
    out += '\n';
  } else if (c == 'r') {
    out += '\r';
  } else if (c == 't') {
    out += '\t';
  } else if (c == 'x' && at + 3 < text.size() && hex_value(text[at + 2]) >= 0 &&
             hex_value(text[at + 3]) >= 0) {
    out += static_cast<char>(hex_value(text[at + 2]) * 16 + hex_value(text[at + 3]));
    return at + 4;
  } else {
    out += c;
  }
  return at + 2;
}

// `json` (nlohmann's dump: valid UTF-8, C0 controls escaped) with DEL and the C1 controls
// written as \u00XX too, so that a JSON line is as inert on a terminal as a logfmt one.
std::string escape_json_controls(const std::string& json) {
  std::string out;
  out.reserve(json.size());
  for (std::size_t i = 0; i < json.size(); ++i) {
    const auto byte = static_cast<unsigned char>(json[i]);
    if (byte == 0x7f) {
      out += "\\u007f";
    } else if (byte == 0xc2 && i + 1 < json.size() &&
               static_cast<unsigned char>(json[i + 1]) < 0xa0) {
      const auto c1 = static_cast<unsigned char>(json[++i]);
      out += "\\u00";
      out += hex_digit(static_cast<unsigned>(c1) >> 4u);
      out += hex_digit(c1);
    } else {
      out += json[i];
    }
  }
  return out;
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
          v = unescape_at(text, v, value) - 1;
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
  return escape_json_controls(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
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
  std::string escaped;
  bool plain = !value.empty();
  for (std::size_t i = 0; i < value.size();) {
    const auto c = value[i];
    const auto d = wire::utf8::decode_at(value, i);
    if (d.length == 0) {
      append_hex_escape(escaped, static_cast<unsigned char>(c));
      plain = false;
      ++i;
      continue;
    }
    if (c == '\n') {
      escaped += "\\n";
    } else if (c == '\r') {
      escaped += "\\r";
    } else if (c == '\t') {
      escaped += "\\t";
    } else if (is_control(d.code_point)) {
      for (std::size_t k = 0; k < d.length; ++k) {
        append_hex_escape(escaped, static_cast<unsigned char>(value[i + k]));
      }
    } else if (c == '"' || c == '\\') {
      escaped += '\\';
      escaped += c;
    } else {
      if (c == ' ' || c == '=') plain = false;
      escaped.append(value.substr(i, d.length));
      i += d.length;
      continue;
    }
    plain = false;
    i += d.length;
  }
  if (plain) return escaped;
  return "\"" + escaped + "\"";
}

}  // namespace streamtrack::log
