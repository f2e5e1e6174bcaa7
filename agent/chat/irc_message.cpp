#include "agent/chat/irc_message.hpp"

#include <algorithm>
#include <cctype>

namespace streamtrack::agent::chat {

namespace {

std::string unescape_tag(std::string_view v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '\\' || i + 1 == v.size()) {
      if (v[i] != '\\') out += v[i];
      continue;
    }
    switch (v[++i]) {
      case ':':
        out += ';';
        break;
      case 's':
        out += ' ';
        break;
      case 'r':
        out += '\r';
        break;
      case 'n':
        out += '\n';
        break;
      default:
        out += v[i];
    }
  }
  return out;
}

std::string_view next_word(std::string_view& rest) {
  const auto space = rest.find(' ');
  const auto word = rest.substr(0, space);
  rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  return word;
}

}  // namespace

std::string IrcMessage::nick() const {
  return prefix.substr(0, prefix.find('!'));
}

std::optional<IrcMessage> parse_irc_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  IrcMessage m;
  std::string_view rest = line;
  if (!rest.empty() && rest.front() == '@') {
    auto tags = next_word(rest);
    tags.remove_prefix(1);
    while (!tags.empty()) {
      const auto semi = tags.find(';');
      const auto tag = tags.substr(0, semi);
      tags = semi == std::string_view::npos ? std::string_view{} : tags.substr(semi + 1);
      if (tag.empty()) continue;
      const auto eq = tag.find('=');
      m.tags[std::string(tag.substr(0, eq))] =
          eq == std::string_view::npos ? std::string() : unescape_tag(tag.substr(eq + 1));
    }
  }
  if (!rest.empty() && rest.front() == ':') {
    auto prefix = next_word(rest);
    m.prefix = std::string(prefix.substr(1));
  }
  const auto command = next_word(rest);
  if (command.empty()) return std::nullopt;
  m.command = std::string(command);
  std::transform(m.command.begin(), m.command.end(), m.command.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  while (!rest.empty()) {
    if (rest.front() == ':') {
      m.params.emplace_back(rest.substr(1));
      break;
    }
    m.params.emplace_back(next_word(rest));
  }
  return m;
}

std::string channel_key(std::string_view name) {
  std::string out = name.starts_with('#') ? std::string(name) : "#" + std::string(name);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace streamtrack::agent::chat
