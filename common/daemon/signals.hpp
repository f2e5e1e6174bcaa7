#pragma once

#include <optional>

// SIGTERM, SIGINT and SIGHUP delivered through a file descriptor the main loop can poll.
namespace streamtrack {

enum class SignalEvent { stop, reload };

class SignalWatcher {
 public:
  // Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and every thread it starts later:
  // construct it in main() before any thread exists. Ignores SIGPIPE.
  SignalWatcher();
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  // Readable when a signal is pending.
  int fd() const { return m_fd; }

  // The next pending event, without blocking; nullopt when none is pending.
  std::optional<SignalEvent> poll();

  // Waits up to `timeout_ms` (-1: forever) for the next event.
  std::optional<SignalEvent> wait(int timeout_ms);

 private:
  int m_fd = -1;
};

}  // namespace streamtrack
