// The IRC chat client against a real ngircd on loopback.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/chat/irc_client.hpp"
#include "agent/sources/twitch/twitch.hpp"
#include "tests/agent/sources/drive.hpp"
#include "tests/support/ngircd.hpp"

namespace streamtrack::testing {
namespace {

using agent::chat::ChatCounts;
using agent::chat::IrcClient;
using agent::chat::IrcOptions;

// A plain raw-socket IRC user that registers, joins and talks.
class RawIrcUser {
 public:
  RawIrcUser(std::uint16_t port, std::string nick) : m_nick(std::move(nick)) {
    m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(m_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      throw std::runtime_error("cannot connect to ngircd");
    }
    send("NICK " + m_nick);
    send("USER " + m_nick + " 0 * :" + m_nick);
    if (!wait_for(" 001 ")) throw std::runtime_error("no welcome for " + m_nick + ": " + m_seen);
  }
  ~RawIrcUser() { ::close(m_fd); }

  void join(const std::string& channel) {
    send("JOIN " + channel);
    // 366 (end of NAMES) follows every successful JOIN.
    if (!wait_for(" 366 "))
      throw std::runtime_error(m_nick + " could not join " + channel + ": " + m_seen);
  }
  void say(const std::string& channel, const std::string& text) {
    send("PRIVMSG " + channel + " :" + text);
  }
  void send(const std::string& line) {
    const std::string data = line + "\r\n";
    ASSERT_EQ(::send(m_fd, data.data(), data.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(data.size()));
  }
  // Reads (answering PINGs) until `needle` was seen.
  bool wait_for(const std::string& needle, std::chrono::milliseconds timeout = k_event_timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (m_seen.find(needle, m_searched) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      pollfd p{m_fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      const auto n = ::recv(m_fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      m_seen.append(buf, static_cast<std::size_t>(n));
      for (auto pos = m_seen.find("PING :", m_pinged); pos != std::string::npos;
           pos = m_seen.find("PING :", m_pinged)) {
        const auto end = m_seen.find("\r\n", pos);
        if (end == std::string::npos) break;
        send("PONG :" + m_seen.substr(pos + 6, end - pos - 6));
        m_pinged = end;
        ++m_pings;
      }
    }
    m_searched = m_seen.find(needle, m_searched) + needle.size();
    return true;
  }
  int pings() const { return m_pings; }

 private:
  std::string m_nick;
  int m_fd = -1;
  std::string m_seen;
  std::size_t m_searched = 0;
  std::size_t m_pinged = 0;
  int m_pings = 0;
};

IrcOptions options(const NgircdServer& irc, std::vector<std::string> channels) {
  IrcOptions o;
  o.url = irc.url();
  o.channels = std::move(channels);
  o.backoff_base = std::chrono::milliseconds(200);
  o.backoff_cap = std::chrono::milliseconds(2000);
  o.log_name = "test";
  return o;
}

bool counts_reach(const IrcClient& client, const std::string& channel, std::int64_t messages) {
  return wait_until([&] {
    const auto counts = client.peek_counts();
    const auto it = counts.find(channel);
    return it != counts.end() && it->second.messages >= messages;
  });
}

TEST(IrcNgircd, CountsMessagesAndChattersOfEachChannel) {
  NgircdServer irc;
  IrcClient client(options(irc, {"somechannel", "#Other"}));
  ASSERT_TRUE(wait_until([&] { return client.joined("somechannel") && client.joined("other"); }))
      << irc.log();
  EXPECT_EQ(client.nick().rfind("justinfan", 0), 0u);
  EXPECT_EQ(client.take_counts().at("somechannel"), (ChatCounts{0, 0}));

  // N = 9 messages from M = 3 nicks in #somechannel, 1 in #other.
  RawIrcUser alice(irc.port(), "alice");
  RawIrcUser bob(irc.port(), "bob");
  RawIrcUser carol(irc.port(), "carol");
  for (auto* u : {&alice, &bob, &carol}) u->join("#somechannel");
  bob.join("#other");
  for (int i = 0; i < 4; ++i) alice.say("#somechannel", "hello " + std::to_string(i));
  for (int i = 0; i < 3; ++i) bob.say("#somechannel", "hey " + std::to_string(i));
  for (int i = 0; i < 2; ++i) carol.say("#somechannel", "yo " + std::to_string(i));
  bob.say("#other", "over here");

  ASSERT_TRUE(counts_reach(client, "somechannel", 9)) << irc.log();
  ASSERT_TRUE(counts_reach(client, "other", 1));
  const auto counts = client.take_counts();
  EXPECT_EQ(counts.at("somechannel"), (ChatCounts{9, 3}));
  EXPECT_EQ(counts.at("other"), (ChatCounts{1, 1}));
  // The next interval starts from zero.
  EXPECT_EQ(client.take_counts().at("somechannel"), (ChatCounts{0, 0}));
}

TEST(IrcNgircd, AnswersServerPings) {
  NgircdServer irc(5);  // PING after 5 s idle, disconnect 5 s later without PONG
  IrcClient client(options(irc, {"somechannel"}));
  ASSERT_TRUE(wait_until([&] { return client.joined("somechannel"); })) << irc.log();
  RawIrcUser watcher(irc.port(), "watcher");
  // The watcher answers its own PINGs; once it has seen two, the client has been pinged
  // (and would have been dropped without PONGs) several times too.
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(watcher.wait_for("PING :")) << irc.log();
  EXPECT_EQ(client.logins(), 1) << irc.log();
  EXPECT_TRUE(client.joined("somechannel"));
}

TEST(IrcNgircd, ReconnectsAndRejoinsAfterServerRestart) {
  NgircdServer irc;
  IrcClient client(options(irc, {"somechannel"}));
  ASSERT_TRUE(wait_until([&] { return client.joined("somechannel"); })) << irc.log();
  irc.stop();
  ASSERT_TRUE(wait_until([&] { return !client.joined("somechannel"); }));
  EXPECT_TRUE(client.take_counts().empty());  // not joined: activity unknown
  irc.start();
  ASSERT_TRUE(wait_until([&] { return client.logins() == 2 && client.joined("somechannel"); }))
      << irc.log();
  RawIrcUser dave(irc.port(), "dave");
  dave.join("#somechannel");
  dave.say("#somechannel", "back again");
  dave.say("#somechannel", "still here");
  ASSERT_TRUE(counts_reach(client, "somechannel", 2));
  EXPECT_EQ(client.take_counts().at("somechannel"), (ChatCounts{2, 1}));
}

TEST(IrcNgircd, TwitchSamplesCarryChatActivity) {
  NgircdServer irc;
  HttpFixtureServer http;
  http.route("/oauth2/token", json_fixture("twitch/token.json"));
  http.route("/helix/streams", json_fixture("twitch/streams_live.json"));
  agent::sources::twitch::TwitchOptions o;
  o.name = "tw";
  o.client_id = "id";
  o.client_secret = "secret";
  o.channels = {"afro", "sleepy"};
  o.api_base_url = http.url("/helix");
  o.auth_base_url = http.url("/oauth2");
  o.chat = options(irc, {});
  agent::sources::twitch::TwitchSource source(std::move(o), SystemClock::instance());
  ASSERT_TRUE(source.chat());
  ASSERT_TRUE(wait_until([&] {
    return source.chat()->joined("afro") && source.chat()->joined("sleepy");
  })) << irc.log();
  RawIrcUser erin(irc.port(), "erin");
  RawIrcUser frank(irc.port(), "frank");
  erin.join("#afro");
  frank.join("#afro");
  erin.say("#afro", "one");
  erin.say("#afro", "two");
  frank.say("#afro", "three");
  ASSERT_TRUE(counts_reach(*source.chat(), "afro", 3));
  auto result = drive(source, SystemClock::instance());
  ASSERT_TRUE(result) << result.error();
  const auto* afro = sample_for(*result, "afro");
  ASSERT_TRUE(afro);
  EXPECT_TRUE(afro->live);
  EXPECT_EQ(afro->chat_messages, 3);
  EXPECT_EQ(afro->chatters, 2);
  const auto* sleepy = sample_for(*result, "sleepy");
  ASSERT_TRUE(sleepy);
  EXPECT_EQ(sleepy->chat_messages, 0);
  EXPECT_EQ(sleepy->chatters, 0);
}

}  // namespace
}  // namespace streamtrack::testing
