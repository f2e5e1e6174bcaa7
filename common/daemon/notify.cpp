#include "common/daemon/notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/daemon/log.hpp"

namespace streamtrack::notify {

namespace {

// True while notifications fail, so that a broken $NOTIFY_SOCKET is logged once, not per ping.
std::atomic<bool> g_failing{false};

std::string named(std::string_view variable, std::string_view value) {
  return std::string(variable) + "=" + log::quote(value);
}

// The decimal number `text` is, all of it, when it fits T; nullopt otherwise (also for a sign,
// a space or an empty text).
template <typename T>
std::optional<T> parse_decimal(std::string_view text) {
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
  T value{};
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

std::optional<std::string> optional_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

void send(const std::string& state) {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  if (socket == nullptr) return;
  const auto sent = send_state(socket, state);
  if (sent.ok()) {
    g_failing.store(false);
  } else if (!g_failing.exchange(true)) {
    log::warning("notify: cannot notify systemd: " + sent.error() +
                 " (logged again only after a notification went through)");
  }
}

}  // namespace

Result<bool> send_state(std::string_view notify_socket, std::string_view state) {
  using Failure = Result<bool>;
  const auto where = named("NOTIFY_SOCKET", notify_socket);
  if (notify_socket.empty()) return Failure::failure(where + ": empty");
  const bool abstract = notify_socket.front() == '@';
  if (!abstract && notify_socket.front() != '/') {
    return Failure::failure(where + ": neither an absolute path nor '@' and an abstract name");
  }
  if (abstract && notify_socket.size() == 1) {
    return Failure::failure(where + ": '@' without a name");
  }
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  // A path needs room for its terminating NUL; an abstract name takes the '@' byte's place.
  const std::size_t room = abstract ? sizeof address.sun_path : sizeof address.sun_path - 1;
  if (notify_socket.size() > room) {
    return Failure::failure(where + ": longer than the " + std::to_string(room) +
                            " bytes a socket address holds");
  }
  if (!abstract && notify_socket.find('\0') != std::string_view::npos) {
    return Failure::failure(where + ": a path with a NUL byte");
  }
  std::memcpy(address.sun_path, notify_socket.data(), notify_socket.size());
  if (abstract) address.sun_path[0] = '\0';
  const auto length =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + notify_socket.size());

  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Failure::failure(where + ": socket: " + std::strerror(errno));
  const auto n = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                          reinterpret_cast<const sockaddr*>(&address), length);
  const int send_errno = errno;
  ::close(fd);
  if (n < 0) return Failure::failure(where + ": send: " + std::strerror(send_errno));
  if (static_cast<std::size_t>(n) != state.size()) {
    return Failure::failure(where + ": send: the datagram was cut short");
  }
  return true;
}

Result<std::optional<std::chrono::microseconds>> parse_watchdog(
    std::optional<std::string_view> usec, std::optional<std::string_view> pid, long self) {
  using Parsed = Result<std::optional<std::chrono::microseconds>>;
  if (!usec) return std::optional<std::chrono::microseconds>{};
  const auto timeout = parse_decimal<long long>(*usec);
  if (!timeout || *timeout < 1 || *timeout > k_max_watchdog_usec) {
    return Parsed::failure(named("WATCHDOG_USEC", *usec) +
                           ": not a number of microseconds from 1 to " +
                           std::to_string(k_max_watchdog_usec));
  }
  if (pid) {
    const auto owner = parse_decimal<long>(*pid);
    if (!owner || *owner < 1) {
      return Parsed::failure(named("WATCHDOG_PID", *pid) + ": not a process id");
    }
    if (*owner != self) return std::optional<std::chrono::microseconds>{};
  }
  return std::optional<std::chrono::microseconds>{std::chrono::microseconds{*timeout}};
}

void ready() {
  send("READY=1");
}

void status(std::string_view text) {
  // A newline would end the STATUS= assignment and let the rest pose as another one.
  std::string line(text);
  for (auto& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  send("STATUS=" + line);
}

void reloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const auto usec = static_cast<long long>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void stopping() {
  send("STOPPING=1");
}

void watchdog() {
  send("WATCHDOG=1");
}

std::optional<std::chrono::microseconds> watchdog_interval() {
  const auto usec = optional_env("WATCHDOG_USEC");
  const auto pid = optional_env("WATCHDOG_PID");
  const auto timeout = parse_watchdog(usec, pid, static_cast<long>(::getpid()));
  if (!timeout.ok()) {
    log::error("notify: watchdog off: " + timeout.error());
    return std::nullopt;
  }
  if (!*timeout) return std::nullopt;
  return **timeout / 2;
}

WatchdogPinger::WatchdogPinger() : m_interval(watchdog_interval()) {}

void WatchdogPinger::maybe_ping() {
  if (!m_interval) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - m_last >= *m_interval) {
    watchdog();
    m_last = now;
  }
}

std::optional<std::chrono::steady_clock::time_point> WatchdogPinger::next_ping() const {
  if (!m_interval) return std::nullopt;
  return m_last + std::chrono::duration_cast<std::chrono::steady_clock::duration>(*m_interval);
}

}  // namespace streamtrack::notify
