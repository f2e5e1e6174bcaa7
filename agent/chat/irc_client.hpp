#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent/chat/irc_message.hpp"

// Read-only chat activity over IRC (Twitch chat, or any IRC server): an anonymous client that
// joins channels and counts what is said in them. It runs on its own thread, so a slow or dead
// chat server never delays polling.
namespace streamtrack::agent::chat {

struct ChatCounts {
  std::int64_t messages = 0;  // PRIVMSGs to the channel
  std::int64_t chatters = 0;  // distinct senders (user-id tag, else nick)
  bool operator==(const ChatCounts&) const = default;
};

// Counts PRIVMSGs and distinct senders per joined channel between two take() calls.
// Thread-safe.
class ChatTally {
 public:
  // Marks a channel ("#name" or "name") joined or left. Leaving keeps nothing.
  void set_joined(std::string_view channel, bool joined);
  void leave_all();
  // Counts a PRIVMSG to a joined channel; everything else is ignored. Messages relayed from
  // another channel of a Shared Chat session (source-room-id != room-id) and repeated message
  // ids are not counted.
  void on_message(const IrcMessage& message);
  // The counts since the last take(), keyed by channel name without '#', for the channels that
  // are joined now (a channel not joined has unknown activity, not zero); then starts over.
  std::map<std::string, ChatCounts> take();
  // The same counts without starting over.
  std::map<std::string, ChatCounts> peek() const;
  bool joined(std::string_view channel) const;

 private:
  struct Channel {
    std::int64_t messages = 0;
    std::set<std::string> chatters;
  };
  mutable std::mutex m_mutex;
  std::map<std::string, Channel> m_joined;  // key: "#name"
  std::set<std::string> m_message_ids;
};

struct IrcOptions {
  std::string url = "ircs://irc.chat.twitch.tv:6697";  // irc://host[:6667] or ircs://host[:6697]
  std::vector<std::string> channels;                   // with or without '#'
  std::string nick;                                    // default: justinfan<random digits>
  std::string ca_file;  // ircs: trust this CA too (besides the system store)
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds backoff_base{1'000};
  std::chrono::milliseconds backoff_cap{60'000};
  std::size_t joins_per_window = 20;  // Twitch: 20 JOINs per 10 s for anonymous logins
  std::chrono::milliseconds join_window{10'000};
  std::chrono::milliseconds keepalive{240'000};  // PING after this long without a line
  std::string log_name = "chat";                 // "source=<log_name>" in log lines
};

class IrcClient {
 public:
  // Checks the url and starts the connection thread right away. Throws std::invalid_argument
  // for an unusable url ("irc_url: expected irc://host[:port] or ircs://host[:port]") and
  // std::runtime_error when TLS cannot be set up.
  explicit IrcClient(IrcOptions options);
  // Disconnects and joins the thread.
  ~IrcClient();
  IrcClient(const IrcClient&) = delete;
  IrcClient& operator=(const IrcClient&) = delete;

  // See ChatTally::take().
  std::map<std::string, ChatCounts> take_counts() { return m_tally.take(); }
  std::map<std::string, ChatCounts> peek_counts() const { return m_tally.peek(); }
  bool joined(std::string_view channel) const { return m_tally.joined(channel); }
  // Successful logins so far (1 after the first connection, +1 per reconnection).
  int logins() const { return m_logins.load(); }
  const std::string& nick() const { return m_nick; }

 private:
  class Connection;
  void run();
  std::string session();
  bool sleep_for(std::chrono::milliseconds d);

  IrcOptions m_options;
  bool m_tls = false;
  std::string m_host;
  std::string m_port;
  std::string m_nick;
  std::shared_ptr<void> m_ssl_ctx;  // SSL_CTX*
  ChatTally m_tally;
  std::atomic<int> m_logins{0};
  std::atomic<bool> m_stop{false};
  int m_wake[2] = {-1, -1};
  std::thread m_thread;
};

}  // namespace streamtrack::agent::chat
