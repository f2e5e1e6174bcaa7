#pragma once

// A real ngircd (Debian's IRC server) on loopback for chat tests, next to harness.hpp.

#include <cstdint>
#include <memory>
#include <string>

#include "tests/support/harness.hpp"

namespace streamtrack::testing {

// ngircd in the foreground (-n) with its config in a temp dir, plain TCP on a free loopback
// port, no PAM/ident/DNS, fast PINGs (every `ping_seconds`). Runs as nobody when the tests run
// as root. The constructor returns once the port accepts connections (throws
// std::runtime_error with ngircd's output otherwise); the destructor stops it.
class NgircdServer {
 public:
  explicit NgircdServer(int ping_seconds = 120);
  ~NgircdServer();
  NgircdServer(const NgircdServer&) = delete;
  NgircdServer& operator=(const NgircdServer&) = delete;

  std::uint16_t port() const { return m_port; }
  std::string url() const;  // irc://127.0.0.1:<port>
  // Stops the server (connections drop); start() brings it back on the same port.
  void stop();
  void start();
  std::string log() const;

 private:
  TempDir m_dir{"streamtrack-ngircd"};
  std::uint16_t m_port = 0;
  std::unique_ptr<Process> m_process;
  std::string m_old_logs;
};

}  // namespace streamtrack::testing
