#include "agent/chat/irc_client.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <random>
#include <stdexcept>

#include "common/daemon/log.hpp"
#include "common/util/backoff.hpp"

namespace streamtrack::agent::chat {

using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

void ChatTally::set_joined(std::string_view channel, bool joined) {
  std::lock_guard lock(m_mutex);
  const auto key = channel_key(channel);
  if (joined) {
    m_joined.try_emplace(key);
  } else {
    m_joined.erase(key);
  }
}

void ChatTally::leave_all() {
  std::lock_guard lock(m_mutex);
  m_joined.clear();
}

void ChatTally::on_message(const IrcMessage& m) {
  if (m.command != "PRIVMSG" || m.params.size() < 2) return;
  const auto tag = [&m](const char* key) -> const std::string* {
    const auto it = m.tags.find(key);
    return it == m.tags.end() ? nullptr : &it->second;
  };
  const auto* source_room = tag("source-room-id");
  const auto* room = tag("room-id");
  if (source_room && !source_room->empty() && (!room || *room != *source_room)) return;
  std::lock_guard lock(m_mutex);
  const auto it = m_joined.find(channel_key(m.params[0]));
  if (it == m_joined.end()) return;
  if (const auto* id = tag("id"); id && !id->empty()) {
    if (!m_message_ids.insert(*id).second) return;
  }
  const auto* user = tag("user-id");
  ++it->second.messages;
  it->second.chatters.insert(user && !user->empty() ? "id:" + *user : "nick:" + m.nick());
}

std::map<std::string, ChatCounts> ChatTally::take() {
  std::lock_guard lock(m_mutex);
  std::map<std::string, ChatCounts> out;
  for (auto& [key, channel] : m_joined) {
    out[key.substr(1)] =
        ChatCounts{channel.messages, static_cast<std::int64_t>(channel.chatters.size())};
    channel = Channel{};
  }
  m_message_ids.clear();
  return out;
}

std::map<std::string, ChatCounts> ChatTally::peek() const {
  std::lock_guard lock(m_mutex);
  std::map<std::string, ChatCounts> out;
  for (const auto& [key, channel] : m_joined) {
    out[key.substr(1)] =
        ChatCounts{channel.messages, static_cast<std::int64_t>(channel.chatters.size())};
  }
  return out;
}

bool ChatTally::joined(std::string_view channel) const {
  std::lock_guard lock(m_mutex);
  return m_joined.count(channel_key(channel)) > 0;
}

// One TCP (optionally TLS) connection with line-oriented, deadline-bounded I/O.
class IrcClient::Connection {
 public:
  Connection(int fd, SSL* ssl) : m_fd(fd), m_ssl(ssl) {}
  ~Connection() {
    if (m_ssl) {
      SSL_shutdown(m_ssl);
      SSL_free(m_ssl);
    }
    if (m_fd >= 0) ::close(m_fd);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  int fd() const { return m_fd; }
  bool has_buffered() const { return m_ssl && SSL_pending(m_ssl) > 0; }

  // Sends a whole line (CR LF appended); false when the peer is gone or too slow.
  bool send_line(const std::string& line) {
    const std::string data = line + "\r\n";
    std::size_t done = 0;
    const auto deadline = steady::now() + std::chrono::seconds(10);
    while (done < data.size()) {
      if (steady::now() > deadline) return false;
      long n = 0;
      if (m_ssl) {
        const int r = SSL_write(m_ssl, data.data() + done, static_cast<int>(data.size() - done));
        if (r <= 0) {
          const int e = SSL_get_error(m_ssl, r);
          if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return false;
          wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, milliseconds{500});
          continue;
        }
        n = r;
      } else {
        n = ::send(m_fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n < 0) {
          if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
          wait(POLLOUT, milliseconds{500});
          continue;
        }
      }
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Reads what is available into `lines`; false on EOF or error (`why` says which).
  bool read_lines(std::vector<std::string>& lines, std::string& why) {
    char buf[16384];
    for (;;) {
      long n = 0;
      if (m_ssl) {
        const int r = SSL_read(m_ssl, buf, sizeof buf);
        if (r <= 0) {
          const int e = SSL_get_error(m_ssl, r);
          if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
          why = e == SSL_ERROR_ZERO_RETURN ? "connection closed by server" : "TLS read failed";
          return false;
        }
        n = r;
      } else {
        n = ::recv(m_fd, buf, sizeof buf, 0);
        if (n < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
          why = std::string("read failed: ") + std::strerror(errno);
          return false;
        }
        if (n == 0) {
          why = "connection closed by server";
          return false;
        }
      }
      m_buffer.append(buf, static_cast<std::size_t>(n));
    }
    std::size_t start = 0;
    for (auto nl = m_buffer.find('\n'); nl != std::string::npos; nl = m_buffer.find('\n', start)) {
      lines.push_back(m_buffer.substr(start, nl - start));
      start = nl + 1;
    }
    m_buffer.erase(0, start);
    if (m_buffer.size() > std::size_t{64} * 1024) {
      why = "line longer than 64 KiB";
      return false;
    }
    return true;
  }

  bool wait(short events, milliseconds timeout) {
    pollfd p{m_fd, events, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
  }

 private:
  int m_fd;
  SSL* m_ssl;
  std::string m_buffer;
};

namespace {

std::string random_nick() {
  std::random_device rd;
  std::uniform_int_distribution<int> digits(10000, 99999999);
  return "justinfan" + std::to_string(digits(rd));
}

std::string tls_error() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

}  // namespace

IrcClient::IrcClient(IrcOptions options) : m_options(std::move(options)) {
  std::string_view url = m_options.url;
  std::string default_port;
  if (url.starts_with("ircs://")) {
    m_tls = true;
    default_port = "6697";
    url.remove_prefix(7);
  } else if (url.starts_with("irc://")) {
    default_port = "6667";
    url.remove_prefix(6);
  } else {
    throw std::invalid_argument("expected irc://host[:port] or ircs://host[:port], got \"" +
                                m_options.url + "\"");
  }
  if (const auto slash = url.find('/'); slash != std::string_view::npos) url = url.substr(0, slash);
  if (url.starts_with('[')) {
    const auto close = url.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument("bad IPv6 address in url");
    m_host = std::string(url.substr(1, close - 1));
    url.remove_prefix(close + 1);
    m_port = url.starts_with(':') ? std::string(url.substr(1)) : default_port;
  } else {
    const auto colon = url.rfind(':');
    m_host = std::string(url.substr(0, colon));
    m_port = colon == std::string_view::npos ? default_port : std::string(url.substr(colon + 1));
  }
  if (m_host.empty() || m_port.empty() ||
      m_port.find_first_not_of("0123456789") != std::string::npos) {
    throw std::invalid_argument("expected irc://host[:port] or ircs://host[:port], got \"" +
                                m_options.url + "\"");
  }
  m_nick = m_options.nick.empty() ? random_nick() : m_options.nick;
  if (m_tls) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) throw std::runtime_error("cannot create a TLS context: " + tls_error());
    m_ssl_ctx = std::shared_ptr<void>(ctx, [](void* p) { SSL_CTX_free(static_cast<SSL_CTX*>(p)); });
    SSL_CTX_set_default_verify_paths(ctx);
    if (!m_options.ca_file.empty() &&
        SSL_CTX_load_verify_locations(ctx, m_options.ca_file.c_str(), nullptr) != 1) {
      throw std::runtime_error("cannot load CA file \"" + m_options.ca_file + "\": " + tls_error());
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  if (::pipe2(m_wake, O_NONBLOCK | O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  m_thread = std::thread([this] { run(); });
}

IrcClient::~IrcClient() {
  m_stop = true;
  const char c = 1;
  [[maybe_unused]] const auto n = ::write(m_wake[1], &c, 1);
  if (m_thread.joinable()) m_thread.join();
  ::close(m_wake[0]);
  ::close(m_wake[1]);
}

bool IrcClient::sleep_for(milliseconds d) {
  pollfd p{m_wake[0], POLLIN, 0};
  ::poll(&p, 1, static_cast<int>(d.count()));
  return !m_stop;
}

void IrcClient::run() {
  Backoff backoff(m_options.backoff_base, m_options.backoff_cap);
  while (!m_stop) {
    const int before = m_logins.load();
    const std::string why = session();
    m_tally.leave_all();
    if (m_stop) break;
    if (m_logins.load() != before) backoff.reset();
    const auto delay = backoff.next_delay();
    log::warning("chat disconnected source=" + m_options.log_name +
                 " url=" + log::quote(m_options.url) + " error=" + log::quote(why) +
                 " reconnect_in_ms=" + std::to_string(delay.count()));
    if (!sleep_for(delay)) break;
  }
}

std::string IrcClient::session() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(m_host.c_str(), m_port.c_str(), &hints, &found); rc != 0) {
    return "cannot resolve " + m_host + ": " + ::gai_strerror(rc);
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);
  int fd = -1;
  std::string why = "no address";
  for (auto* a = found; a && fd < 0 && !m_stop; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      why = std::string("connect failed: ") + std::strerror(errno);
      ::close(fd);
      fd = -1;
      continue;
    }
    pollfd p[2] = {{fd, POLLOUT, 0}, {m_wake[0], POLLIN, 0}};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(p, 2, static_cast<int>(m_options.connect_timeout.count())) <= 0 ||
        !(p[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
      why = "connect timed out";
      err = -1;
    } else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      why = std::string("connect failed: ") + std::strerror(err);
    }
    if (err != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  if (fd < 0) return why;

  SSL* ssl = nullptr;
  if (m_tls) {
    ssl = SSL_new(static_cast<SSL_CTX*>(m_ssl_ctx.get()));
    if (!ssl) {
      ::close(fd);
      return "TLS setup failed: " + tls_error();
    }
    SSL_set_fd(ssl, fd);
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(m_host.c_str()));
    SSL_set1_host(ssl, m_host.c_str());
  }
  Connection conn(fd, ssl);
  if (ssl) {
    const auto deadline = steady::now() + m_options.connect_timeout;
    for (;;) {
      ERR_clear_error();
      const int r = SSL_connect(ssl);
      if (r == 1) break;
      const int e = SSL_get_error(ssl, r);
      if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) || steady::now() > deadline ||
          m_stop) {
        const long verify = SSL_get_verify_result(ssl);
        if (verify != X509_V_OK) {
          return std::string("TLS handshake failed: ") + X509_verify_cert_error_string(verify);
        }
        return "TLS handshake failed: " + tls_error();
      }
      conn.wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, milliseconds{200});
    }
  }

  // CAP END releases registration on servers that hold it for capability negotiation.
  std::string nick = m_nick;
  if (!conn.send_line("CAP REQ :twitch.tv/tags twitch.tv/commands") ||
      !conn.send_line("NICK " + nick) || !conn.send_line("USER " + nick + " 8 * :" + nick) ||
      !conn.send_line("CAP END")) {
    return "cannot send login";
  }
  bool logged_in = false;
  std::deque<std::string> to_join;
  std::deque<steady::time_point> recent_joins;
  auto last_line = steady::now();
  bool pinged = false;
  const auto login_deadline = steady::now() + m_options.connect_timeout * 3;

  while (!m_stop) {
    const auto now = steady::now();
    if (!logged_in && now > login_deadline) return "no welcome from server";
    while (!recent_joins.empty() && now - recent_joins.front() >= m_options.join_window) {
      recent_joins.pop_front();
    }
    while (logged_in && !to_join.empty() && recent_joins.size() < m_options.joins_per_window) {
      if (!conn.send_line("JOIN " + to_join.front())) return "cannot send JOIN";
      to_join.pop_front();
      recent_joins.push_back(now);
    }
    if (now - last_line > m_options.keepalive * 2) return "no data from server, connection stale";
    if (!pinged && now - last_line > m_options.keepalive) {
      if (!conn.send_line("PING :streamtrack")) return "cannot send PING";
      pinged = true;
    }
    if (!conn.has_buffered()) {
      pollfd p[2] = {{conn.fd(), POLLIN, 0}, {m_wake[0], POLLIN, 0}};
      ::poll(p, 2, 250);
      if (m_stop) break;
      if (!(p[0].revents & (POLLIN | POLLERR | POLLHUP))) continue;
    }
    std::vector<std::string> lines;
    std::string read_error;
    const bool alive = conn.read_lines(lines, read_error);
    for (const auto& line : lines) {
      last_line = steady::now();
      pinged = false;
      const auto m = parse_irc_line(line);
      if (!m) continue;
      if (m->command == "PING") {
        if (!conn.send_line("PONG :" + (m->params.empty() ? std::string() : m->params.back()))) {
          return "cannot send PONG";
        }
      } else if (m->command == "PRIVMSG") {
        m_tally.on_message(*m);
      } else if (m->command == "001") {
        logged_in = true;
        if (!m->params.empty()) nick = m->params.front();
        ++m_logins;
        to_join.assign(m_options.channels.begin(), m_options.channels.end());
        for (auto& c : to_join) c = channel_key(c);
        log::info("chat connected source=" + m_options.log_name +
                  " url=" + log::quote(m_options.url) + " nick=" + nick +
                  " channels=" + std::to_string(to_join.size()));
      } else if (m->command == "433" && !logged_in) {
        nick = random_nick();
        if (!conn.send_line("NICK " + nick)) return "cannot send NICK";
      } else if ((m->command == "JOIN" || m->command == "PART") && m->nick() == nick &&
                 !m->params.empty()) {
        m_tally.set_joined(m->params[0], m->command == "JOIN");
        log::debug("chat " + std::string(m->command == "JOIN" ? "joined" : "left") +
                   " source=" + m_options.log_name + " channel=" + m->params[0]);
      } else if (m->command == "KICK" && m->params.size() >= 2 && m->params[1] == nick) {
        m_tally.set_joined(m->params[0], false);
      } else if (m->command == "RECONNECT") {
        return "server asked to reconnect";
      } else if (m->command == "ERROR") {
        return "server closed the session: " + (m->params.empty() ? "" : m->params.back());
      } else if (m->command == "NOTICE" && !logged_in && !m->params.empty() &&
                 m->params.back().find("authentication failed") != std::string::npos) {
        return "login refused: " + m->params.back();
      }
    }
    if (!alive) return read_error;
  }
  conn.send_line("QUIT");
  return "stopped";
}

}  // namespace streamtrack::agent::chat
