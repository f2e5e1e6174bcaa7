#include "common/daemon/notify.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <string>

namespace streamtrack::notify {

namespace {
void send(const std::string& state) {
  sd_notify(0, state.c_str());
}
}  // namespace

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
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds{static_cast<long long>(usec / 2)};
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
