#pragma once

#include <chrono>
#include <optional>
#include <string_view>

// systemd service notifications (sd_notify). Every call is a no-op outside systemd, i.e. when
// $NOTIFY_SOCKET is unset.
namespace streamtrack::notify {

void ready();
void status(std::string_view text);
// RELOADING=1 with MONOTONIC_USEC (as Type=notify-reload expects). Under Type=notify, as in
// our units for systemd 252, call ready() again once the reload is done.
void reloading();
void stopping();
void watchdog();

// Half of $WATCHDOG_USEC when the watchdog is enabled for this process, else nullopt.
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

}  // namespace streamtrack::notify
