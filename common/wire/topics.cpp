#include "common/wire/topics.hpp"

#include <cstdint>

#include "common/wire/utf8.hpp"

namespace streamtrack::wire {

namespace {

constexpr char k_hex[] = "0123456789ABCDEF";

bool reserved_byte(unsigned char c) {
  return c == '%' || c == '/' || c == '+' || c == '#';
}

// Code points MQTT topic names must not carry (MQTT 5.0 section 1.5.4; Mosquitto refuses
// them): controls, and the non-characters.
bool unfit_code_point(std::uint32_t cp) {
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return true;
  if (cp >= 0xFDD0 && cp <= 0xFDEF) return true;
  return (cp & 0xFFFE) == 0xFFFE;
}

void append_escaped(std::string& out, unsigned char c) {
  out += '%';
  out += k_hex[c >> 4];
  out += k_hex[c & 0xF];
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::string_view> split_levels(std::string_view topic) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const auto slash = topic.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(topic.substr(start));
      return out;
    }
    out.push_back(topic.substr(start, slash - start));
    start = slash + 1;
  }
}

}  // namespace

std::string escape_segment(std::string_view name) {
  if (name.empty()) return "%";
  std::string out;
  out.reserve(name.size());
  std::size_t i = 0;
  while (i < name.size()) {
    const auto d = utf8::decode_at(name, i);
    if (d.length == 0) {  // not UTF-8: this one byte
      append_escaped(out, static_cast<unsigned char>(name[i]));
      ++i;
      continue;
    }
    const bool escape = d.length == 1 ? reserved_byte(static_cast<unsigned char>(name[i])) ||
                                            unfit_code_point(d.code_point)
                                      : unfit_code_point(d.code_point);
    for (std::size_t k = 0; k < d.length; ++k) {
      if (escape) {
        append_escaped(out, static_cast<unsigned char>(name[i + k]));
      } else {
        out += name[i + k];
      }
    }
    i += d.length;
  }
  return out;
}

std::optional<std::string> unescape_segment(std::string_view segment) {
  if (segment == "%") return std::string();
  if (segment.empty()) return std::nullopt;
  std::string out;
  out.reserve(segment.size());
  for (std::size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] != '%') {
      out += segment[i];
      continue;
    }
    if (i + 2 >= segment.size()) return std::nullopt;
    const int hi = hex_value(segment[i + 1]);
    const int lo = hex_value(segment[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  // Canonical only: exactly what escape_segment makes of the name, so that each name has one
  // segment and each segment one name.
  if (escape_segment(out) != segment) return std::nullopt;
  return out;
}

std::optional<std::string> check_topic_root(std::string_view root) {
  if (root.empty()) return "must not be empty";
  if (root.front() == '$') return "must not start with '$' (reserved for broker topics)";
  if (root.front() == '/' || root.back() == '/') return "must not start or end with '/'";
  if (root.find("//") != std::string_view::npos) return "must not contain an empty level ('//')";
  if (root.find_first_of("+#") != std::string_view::npos) {
    return "must not contain the wildcards '+' or '#'";
  }
  if (root.find('\0') != std::string_view::npos) return "must not contain NUL";
  return std::nullopt;
}

Topics::Topics(std::string root) : m_root(std::move(root)) {}

std::string Topics::metrics(std::string_view agent, std::string_view platform,
                            std::string_view channel) const {
  return m_root + '/' + escape_segment(agent) + "/metrics/" + escape_segment(platform) + '/' +
         escape_segment(channel);
}

std::string Topics::frames(std::string_view agent) const {
  return m_root + '/' + escape_segment(agent) + "/frames";
}

std::string Topics::status(std::string_view agent) const {
  return m_root + '/' + escape_segment(agent) + "/status";
}

std::string Topics::health(std::string_view agent) const {
  return m_root + '/' + escape_segment(agent) + "/health";
}

std::string Topics::ack(std::string_view agent) const {
  return m_root + '/' + escape_segment(agent) + "/ack";
}

std::string Topics::collector_status(std::string_view collector) const {
  return m_root + "/collectors/status/" + escape_segment(collector);
}

std::string Topics::alert(std::string_view rule, const std::vector<std::string>& key) const {
  std::string out = m_root + "/alerts/" + escape_segment(rule);
  for (const auto& part : key) out += '/' + escape_segment(part);
  return out;
}

std::string Topics::all_metrics_filter() const {
  return m_root + "/+/metrics/#";
}
std::string Topics::all_frames_filter() const {
  return m_root + "/+/frames";
}
std::string Topics::all_status_filter() const {
  return m_root + "/+/status";
}
std::string Topics::all_health_filter() const {
  return m_root + "/+/health";
}

std::optional<ParsedTopic> Topics::parse(std::string_view topic) const {
  if (topic.size() <= m_root.size() || topic.substr(0, m_root.size()) != m_root ||
      topic[m_root.size()] != '/') {
    return std::nullopt;
  }
  const auto levels = split_levels(topic.substr(m_root.size() + 1));
  ParsedTopic out{};
  if (levels.size() >= 2 && levels[0] == "alerts") {
    out.kind = TopicKind::alert;
    for (std::size_t i = 1; i < levels.size(); ++i) {
      auto part = unescape_segment(levels[i]);
      if (!part) return std::nullopt;
      out.alert.push_back(std::move(*part));
    }
    return out;
  }
  if (levels.size() < 2) return std::nullopt;
  auto agent = unescape_segment(levels[0]);
  if (!agent) return std::nullopt;
  out.agent = std::move(*agent);
  if (levels.size() == 2) {
    if (levels[1] == "status") {
      out.kind = TopicKind::status;
    } else if (levels[1] == "health") {
      out.kind = TopicKind::health;
    } else if (levels[1] == "frames") {
      out.kind = TopicKind::frames;
    } else if (levels[1] == "ack") {
      out.kind = TopicKind::ack;
    } else {
      return std::nullopt;
    }
    return out;
  }
  if (levels.size() == 4 && levels[1] == "metrics") {
    auto platform = unescape_segment(levels[2]);
    auto channel = unescape_segment(levels[3]);
    if (!platform || !channel) return std::nullopt;
    out.kind = TopicKind::metrics;
    out.platform = std::move(*platform);
    out.channel = std::move(*channel);
    return out;
  }
  return std::nullopt;
}

}  // namespace streamtrack::wire
