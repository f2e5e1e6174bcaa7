// IRC line parsing and chat counting, without a server.

#include <gtest/gtest.h>

#include "agent/chat/irc_client.hpp"

namespace streamtrack::testing {
namespace {

using agent::chat::ChatCounts;
using agent::chat::ChatTally;
using agent::chat::parse_irc_line;

TEST(IrcMessage, ParsesTwitchPrivmsgWithTags) {
  const auto m = parse_irc_line(
      "@badge-info=;badges=broadcaster/1;color=#0000FF;display-name=abc;id=eb24e920-8065;"
      "room-id=713936733;tmi-sent-ts=1642786203573;user-id=713936733;system-msg=a\\sb\\:c "
      ":abc!abc@abc.tmi.twitch.tv PRIVMSG #xyz :HeyGuys and more\r\n");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->command, "PRIVMSG");
  EXPECT_EQ(m->nick(), "abc");
  EXPECT_EQ(m->params, (std::vector<std::string>{"#xyz", "HeyGuys and more"}));
  EXPECT_EQ(m->tags.at("user-id"), "713936733");
  EXPECT_EQ(m->tags.at("badge-info"), "");
  EXPECT_EQ(m->tags.at("system-msg"), "a b;c");
}

TEST(IrcMessage, ParsesPingAndNumerics) {
  const auto ping = parse_irc_line("PING :tmi.twitch.tv");
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->command, "PING");
  EXPECT_EQ(ping->params, std::vector<std::string>{"tmi.twitch.tv"});
  const auto welcome = parse_irc_line(":tmi.twitch.tv 001 justinfan12345 :Welcome, GLHF!");
  ASSERT_TRUE(welcome);
  EXPECT_EQ(welcome->command, "001");
  EXPECT_EQ(welcome->prefix, "tmi.twitch.tv");
  EXPECT_FALSE(parse_irc_line(""));
  EXPECT_FALSE(parse_irc_line("@a=b "));
}

TEST(ChatTally, CountsMessagesAndDistinctSendersOfJoinedChannels) {
  ChatTally tally;
  tally.set_joined("#Afro", true);
  const auto say = [&tally](const std::string& line) { tally.on_message(*parse_irc_line(line)); };
  say("@id=1;user-id=10;room-id=5 :a!a@a PRIVMSG #afro :hi");
  say("@id=2;user-id=10;room-id=5 :a!a@a PRIVMSG #afro :again");
  say("@id=2;user-id=10;room-id=5 :a!a@a PRIVMSG #afro :again");  // same id: once
  say(":b!b@b PRIVMSG #afro :no tags");
  say("@id=3;user-id=11;room-id=5;source-room-id=9 :c!c@c PRIVMSG #afro :shared chat");
  say(":d!d@d PRIVMSG #notjoined :elsewhere");
  auto counts = tally.take();
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts.at("afro"), (ChatCounts{3, 2}));
  EXPECT_EQ(tally.take().at("afro"), (ChatCounts{0, 0}));
  tally.set_joined("afro", false);
  EXPECT_TRUE(tally.take().empty());  // not joined: unknown, not zero
}

}  // namespace
}  // namespace streamtrack::testing
