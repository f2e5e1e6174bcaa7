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
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/daemon/log.hpp"

namespace streamtrack::notify {

namespace {

// True while notifications fail, so that a broken $NOTIFY_SOCKET is logged once, not per ping.
std::atomic<bool> g_failing{false};

// What could not be sent yet because systemd's queue was full (notify.hpp): guarded by g_mutex,
// which every send holds. Pending states go out before the pending status, the status before the
// watchdog ping.
std::mutex g_mutex;
std::vector<std::string> g_states;  // oldest first: at most a RELOADING=1 and its READY=1
std::optional<std::string> g_status;
bool g_watchdog = false;

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

Result<bool> send_datagram(std::string_view notify_socket, std::string_view state,
                           bool& queue_full);

// True when `message` is done with: sent, or refused for a reason no later send can cure (no
// listener, a garbled $NOTIFY_SOCKET). False when systemd's queue is full: it is worth sending
// again later.
bool send_one(const char* socket, const std::string& message) {
  bool queue_full = false;
  const auto sent = send_datagram(socket, message, queue_full);
  if (sent.ok()) {
    g_failing.store(false);
    return true;
  }
  if (!g_failing.exchange(true)) {
    log::warning("notify: cannot notify systemd: " + sent.error() +
                 (queue_full ? " (sent again from the loop;" : " (dropped;") +
                 " logged again only after a notification went through)");
  }
  return !queue_full;
}

// Sends what is pending, in order, up to the first send that finds the queue full; true when
// nothing is left pending. Holds g_mutex.
bool flush(const char* socket) {
  while (!g_states.empty()) {
    if (!send_one(socket, g_states.front())) return false;
    g_states.erase(g_states.begin());
  }
  if (g_status) {
    if (!send_one(socket, *g_status)) return false;
    g_status.reset();
  }
  if (g_watchdog) {
    if (!send_one(socket, "WATCHDOG=1")) return false;
    g_watchdog = false;
  }
  return true;
}

// Adds `update` (which makes a notification pending) to what is pending and sends it all.
template <typename Update>
void add_and_send(Update update) {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  if (socket == nullptr) return;
  std::lock_guard lock(g_mutex);
  update();
  flush(socket);
}

void send_state_change(std::string message) {
  add_and_send([&] {
    const bool ends_reload = message == "READY=1" && g_states.size() == 1 &&
                             g_states.front().starts_with("RELOADING=1\n");
    if (!ends_reload) g_states.clear();
    g_states.push_back(std::move(message));
  });
}

}  // namespace

namespace {

// send_state(), and whether a failure was a full queue (EAGAIN, ENOBUFS: worth trying again).
Result<bool> send_datagram(std::string_view notify_socket, std::string_view state,
                           bool& queue_full) {
  using Failure = Result<bool>;
  queue_full = false;
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
  if (n < 0) {
    queue_full = send_errno == EAGAIN || send_errno == EWOULDBLOCK || send_errno == ENOBUFS;
    return Failure::failure(where + ": send: " + std::strerror(send_errno));
  }
  if (static_cast<std::size_t>(n) != state.size()) {
    return Failure::failure(where + ": send: the datagram was cut short");
  }
  return true;
}

}  // namespace

Result<bool> send_state(std::string_view notify_socket, std::string_view state) {
  bool queue_full = false;
  return send_datagram(notify_socket, state, queue_full);
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
  send_state_change("READY=1");
}

void status(std::string_view text) {
  // A newline would end the STATUS= assignment and let the rest pose as another one.
  std::string line(text);
  for (auto& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  add_and_send([&] { g_status = "STATUS=" + line; });
}

void reloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const auto usec = static_cast<long long>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
  send_state_change("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void stopping() {
  send_state_change("STOPPING=1");
}

void watchdog() {
  add_and_send([] { g_watchdog = true; });
}

bool retry() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  std::lock_guard lock(g_mutex);
  if (socket != nullptr) return flush(socket);
  g_states.clear();  // nowhere to send them
  g_status.reset();
  g_watchdog = false;
  return true;
}

bool pending() {
  std::lock_guard lock(g_mutex);
  return !g_states.empty() || g_status.has_value() || g_watchdog;
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

Notifier::Notifier() : m_interval(watchdog_interval()) {}

void Notifier::turn() {
  const auto now = std::chrono::steady_clock::now();
  bool sent = true;
  if (m_interval && now - m_last_ping >= *m_interval) {
    watchdog();  // sends what is pending first
    m_last_ping = now;
    sent = !pending();
  } else if (now >= m_retry_at && pending()) {
    sent = retry();
  }
  if (!sent) m_retry_at = now + k_retry_after;
}

std::optional<std::chrono::steady_clock::time_point> Notifier::next_due() const {
  std::optional<std::chrono::steady_clock::time_point> due;
  if (m_interval) {
    due =
        m_last_ping + std::chrono::duration_cast<std::chrono::steady_clock::duration>(*m_interval);
  }
  if (pending() && (!due || m_retry_at < *due)) due = m_retry_at;
  return due;
}

}  // namespace streamtrack::notify
