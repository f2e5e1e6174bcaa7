#include "common/daemon/signals.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace streamtrack {

namespace {
sigset_t watched_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}
}  // namespace

SignalWatcher::SignalWatcher() {
  signal(SIGPIPE, SIG_IGN);
  const sigset_t set = watched_signals();
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
    throw std::runtime_error("cannot block signals");
  }
  m_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (m_fd < 0) throw std::runtime_error(std::string("signalfd: ") + std::strerror(errno));
}

SignalWatcher::~SignalWatcher() {
  if (m_fd >= 0) close(m_fd);
}

std::optional<SignalEvent> SignalWatcher::poll() {
  signalfd_siginfo info{};
  const auto n = read(m_fd, &info, sizeof info);
  if (n != static_cast<ssize_t>(sizeof info)) return std::nullopt;
  return info.ssi_signo == SIGHUP ? SignalEvent::reload : SignalEvent::stop;
}

std::optional<SignalEvent> SignalWatcher::wait(int timeout_ms) {
  pollfd pfd{m_fd, POLLIN, 0};
  if (::poll(&pfd, 1, timeout_ms) <= 0) return std::nullopt;
  return poll();
}

}  // namespace streamtrack
