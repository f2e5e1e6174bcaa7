#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// IRC lines (RFC 1459 with IRCv3 message tags), as Twitch chat and ngircd send them.
namespace streamtrack::agent::chat {

struct IrcMessage {
  std::map<std::string, std::string> tags;  // unescaped values; "key" without '=' maps to ""
  std::string prefix;                       // without ':'; "nick!user@host" or a server name
  std::string command;                      // upper-cased ("PRIVMSG", "001")
  std::vector<std::string> params;          // the trailing parameter last, without ':'

  // The nick of a "nick!user@host" prefix (the whole prefix when it has no '!').
  std::string nick() const;
};

// Parses one line without its CR LF; nullopt for an empty or command-less line.
std::optional<IrcMessage> parse_irc_line(std::string_view line);

// "#channel" lower-cased from a channel name given with or without '#'.
std::string channel_key(std::string_view name);

}  // namespace streamtrack::agent::chat
