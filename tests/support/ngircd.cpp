#include "tests/support/ngircd.hpp"

#include <unistd.h>

#include <stdexcept>

namespace streamtrack::testing {

NgircdServer::NgircdServer(int ping_seconds) {
  m_port = free_port();
  std::string conf =
      "[Global]\n"
      "Name = irc.streamtrack.test\n"
      "Info = StreamTrack test server\n"
      "Listen = 127.0.0.1\n"
      "Ports = " +
      std::to_string(m_port) +
      "\n"
      "MotdPhrase = \"test\"\n";
  if (::geteuid() == 0) conf += "ServerUID = 65534\nServerGID = 65534\n";
  conf +=
      "[Limits]\n"
      "MaxConnectionsIP = 0\n"
      "MaxJoins = 0\n"
      "MaxNickLength = 30\n"
      "PingTimeout = " +
      std::to_string(ping_seconds) +
      "\n"
      "PongTimeout = " +
      std::to_string(ping_seconds) +
      "\n"
      "[Options]\n"
      "PAM = no\n"
      "Ident = no\n"
      "DNS = no\n";
  write_file(m_dir / "ngircd.conf", conf);
  start();
}

NgircdServer::~NgircdServer() {
  stop();
}

std::string NgircdServer::url() const {
  return "irc://127.0.0.1:" + std::to_string(m_port);
}

void NgircdServer::start() {
  if (m_process && m_process->running()) return;
  if (m_process) m_old_logs += m_process->output();
  m_process = std::make_unique<Process>(Process::Options{
      .argv = {"/usr/sbin/ngircd", "-n", "-f", (m_dir / "ngircd.conf").string()},
      .env = {},
      .log_file = {},
      .uid = std::nullopt,
      .gid = std::nullopt,
      .cwd = m_dir.path(),
  });
  if (!wait_until([this] { return port_accepts(m_port) || !m_process->running(); }) ||
      !m_process->running()) {
    throw std::runtime_error("ngircd did not start:\n" + m_process->output());
  }
}

void NgircdServer::stop() {
  if (!m_process) return;
  m_process->stop();
  wait_until([this] { return !port_accepts(m_port); });
}

std::string NgircdServer::log() const {
  return m_old_logs + (m_process ? m_process->output() : std::string());
}

}  // namespace streamtrack::testing
