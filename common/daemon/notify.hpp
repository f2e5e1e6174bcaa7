#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/util/result.hpp"

// systemd service notifications: the notify protocol of sd_notify(3), which systemd documents
// as a stable interface for services to implement themselves. Each notification is one datagram
// of newline-separated VAR=value assignments sent to the AF_UNIX socket $NOTIFY_SOCKET names.
// Every call is a no-op outside systemd, i.e. when $NOTIFY_SOCKET is unset. A notification that
// cannot be sent (a garbled variable, no listener, a full queue: sends never block) is logged as
// a warning, once until one goes through again, and never stops the daemon.
namespace streamtrack::notify {

void ready();
void status(std::string_view text);
// RELOADING=1 with MONOTONIC_USEC (as Type=notify-reload expects). Under Type=notify, as in
// our units for systemd 252, call ready() again once the reload is done.
void reloading();
void stopping();
void watchdog();

// Half of $WATCHDOG_USEC when the watchdog is enabled for this process, else nullopt (also,
// logged as an error, when the variables are not what parse_watchdog() accepts).
std::optional<std::chrono::microseconds> watchdog_interval();

// Calls watchdog() when at least watchdog_interval() passed since the last ping; cheap to call
// from every loop iteration.
class WatchdogPinger {
 public:
  WatchdogPinger();
  void maybe_ping();
  // When maybe_ping() next pings; nullopt without a watchdog (a loop can sleep until then).
  std::optional<std::chrono::steady_clock::time_point> next_ping() const;

 private:
  std::optional<std::chrono::microseconds> m_interval;
  std::chrono::steady_clock::time_point m_last{};
};

// The protocol itself, pure of the environment (the functions above read it); for tests.

// The largest $WATCHDOG_USEC accepted: ten years (any larger timeout is a mistake, and it keeps
// a steady_clock time point plus the interval far from overflowing).
inline constexpr long long k_max_watchdog_usec = 10LL * 365 * 24 * 3600 * 1'000'000;

// Sends `state` as one datagram to the socket a $NOTIFY_SOCKET value names: an absolute path
// ("/run/systemd/notify") or '@' and a name in the abstract namespace ("@/org/.../notify").
// Never blocks. Returns the error text on failure: a value that is empty, neither a path nor
// '@' and a name, longer than a socket address holds, a path with a NUL byte, or a send that
// failed (no socket there, nobody listening, the listener's queue full).
Result<bool> send_state(std::string_view notify_socket, std::string_view state);

// The watchdog timeout $WATCHDOG_USEC (`usec`, nullopt when unset) asks of the process `self`:
// nullopt when unset, or when $WATCHDOG_PID (`pid`, nullopt when unset) names another process.
// An error text (naming the variable and its value) when `usec` is not a decimal number of
// microseconds from 1 to k_max_watchdog_usec, or `pid` not a decimal process id above 0.
Result<std::optional<std::chrono::microseconds>> parse_watchdog(
    std::optional<std::string_view> usec, std::optional<std::string_view> pid, long self);

}  // namespace streamtrack::notify
