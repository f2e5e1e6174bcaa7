#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/util/result.hpp"

// systemd service notifications: the notify protocol of sd_notify(3), which systemd documents
// as a stable interface for services to implement themselves. Each notification is one datagram
// of newline-separated VAR=value assignments sent to the AF_UNIX socket $NOTIFY_SOCKET names.
// Every call is a no-op outside systemd, i.e. when $NOTIFY_SOCKET is unset (nothing is sent,
// nothing kept).
//
// Sends never block: a listener that stops reading cannot stall a daemon's loop. A notification
// that cannot be sent is logged as a warning, once until one goes through again, and never stops
// the daemon. One that finds the queue full (PID 1 busy and net.unix.max_dgram_qlen datagrams,
// 10 by the kernel's default and 512 under systemd's sysctl.d, already waiting) is not lost: it
// stays pending, and every later notification call, and retry(), first sends what is pending
// and stops at the first send that finds the queue full again. One refused for any other reason
// (no listener, a garbled variable: no later send can succeed) is dropped, so that nothing is
// retried for the daemon's life. What stays pending is what systemd needs to end in the state
// the daemon last announced:
// - states: the latest of READY=1, RELOADING=1 and STOPPING=1, except that a READY=1 after a
//   pending RELOADING=1 goes behind it (the reload's end follows its start, as
//   Type=notify-reload needs; a resent RELOADING=1 keeps its MONOTONIC_USEC);
// - the latest STATUS=;
// - one WATCHDOG=1 (however many pings failed).
// The daemons' loops resend them through Notifier::turn() on every turn. A notification still
// pending when the process exits is lost (a STOPPING=1, then: systemd learns of the stop from
// the exit). The functions are thread-safe; a Notifier belongs to one loop.
namespace streamtrack::notify {

void ready();
void status(std::string_view text);
// RELOADING=1 with MONOTONIC_USEC (as Type=notify-reload expects). Under Type=notify, as in
// our units for systemd 252, call ready() again once the reload is done.
void reloading();
void stopping();
void watchdog();

// Sends what is pending (see above) now; true when nothing is left pending.
bool retry();
// True while a notification waits to be sent again.
bool pending();

// Half of $WATCHDOG_USEC when the watchdog is enabled for this process, else nullopt (also,
// logged as an error, when the variables are not what parse_watchdog() accepts).
std::optional<std::chrono::microseconds> watchdog_interval();

// The notifications a daemon's loop owes systemd: call turn() on every turn of the loop (it is
// cheap) and wake the loop by next_due(). turn() pings the watchdog (WATCHDOG=1) when at least
// watchdog_interval() passed since the last ping (sending what is pending first), and
// otherwise sends what is pending again, unless an attempt of turn() itself failed less than
// k_retry_after ago. A ping that finds the queue full is thus sent again k_retry_after later,
// not half an interval later; a READY=1 that found it full is sent again by the next turn.
class Notifier {
 public:
  static constexpr std::chrono::milliseconds k_retry_after{100};

  Notifier();
  void turn();
  // When turn() next has something to do: a ping or a retry; nullopt with neither (a loop can
  // sleep until then).
  std::optional<std::chrono::steady_clock::time_point> next_due() const;

 private:
  std::optional<std::chrono::microseconds> m_interval;
  std::chrono::steady_clock::time_point m_last_ping{};
  std::chrono::steady_clock::time_point m_retry_at{};
};

// The protocol itself, pure of the environment (the functions above read it); for tests.

// The largest $WATCHDOG_USEC accepted: ten years (any larger timeout is a mistake, and it keeps
// a steady_clock time point plus the interval far from overflowing).
inline constexpr long long k_max_watchdog_usec = 10LL * 365 * 24 * 3600 * 1'000'000;

// Sends `state` as one datagram to the socket a $NOTIFY_SOCKET value names: an absolute path
// ("/run/systemd/notify") or '@' and a name in the abstract namespace ("@/org/.../notify").
// Never blocks, never retries. Returns the error text on failure: a value that is empty,
// neither a path nor '@' and a name, longer than a socket address holds, a path with a NUL
// byte, or a send that failed (no socket there, nobody listening, the listener's queue full).
Result<bool> send_state(std::string_view notify_socket, std::string_view state);

// The watchdog timeout $WATCHDOG_USEC (`usec`, nullopt when unset) asks of the process `self`:
// nullopt when unset, or when $WATCHDOG_PID (`pid`, nullopt when unset) names another process.
// An error text (naming the variable and its value) when `usec` is not a decimal number of
// microseconds from 1 to k_max_watchdog_usec, or `pid` not a decimal process id above 0.
Result<std::optional<std::chrono::microseconds>> parse_watchdog(
    std::optional<std::string_view> usec, std::optional<std::string_view> pid, long self);

}  // namespace streamtrack::notify
