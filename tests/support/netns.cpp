#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <set>
#include <sstream>
#include <stdexcept>

#include "tests/support/harness.hpp"

namespace streamtrack::testing {

namespace {

CommandResult ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, 30s);
}

void ip_checked(const std::vector<std::string>& args) {
  const auto result = ip(args);
  if (result.exit_code != 0) {
    std::string line;
    for (const auto& a : args) line += " " + a;
    throw std::runtime_error("NetNamespace: ip" + line + " failed:\n" + result.output);
  }
}

bool process_alive(long pid) {
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

// Namespaces "st-<pid>-<n>" whose test process is gone (killed before its destructors ran).
void remove_stale_namespaces() {
  std::istringstream in(ip({"netns", "list"}).output);
  std::string line;
  while (std::getline(in, line)) {
    const auto name = line.substr(0, line.find(' '));
    if (name.rfind("st-", 0) != 0) continue;
    const auto dash = name.find('-', 3);
    if (dash == std::string::npos) continue;
    try {
      if (!process_alive(std::stol(name.substr(3, dash - 3)))) ip({"netns", "del", name});
    } catch (const std::exception&) {
    }
  }
}

// The third octet of a 169.254.X.0/24 that no interface of ours uses yet.
int free_link_local_block() {
  const auto addresses = ip({"-o", "-4", "addr", "show"}).output;
  const int start = static_cast<int>(::getpid() % 150);
  for (int i = 0; i < 150; ++i) {
    const int block = 100 + (start + i) % 150;
    if (addresses.find("169.254." + std::to_string(block) + ".") == std::string::npos) return block;
  }
  throw std::runtime_error("NetNamespace: no free 169.254.x.0/24 block");
}

std::atomic<int> g_counter{0};

}  // namespace

NetNamespace::NetNamespace() {
  remove_stale_namespaces();
  const auto pid = std::to_string(::getpid());
  const auto n = std::to_string(g_counter++);
  m_name = "st-" + pid + "-" + n;
  m_host_link = "st" + pid + "h" + n;
  const auto inner_link = "st" + pid + "i" + n;
  const auto prefix = "169.254." + std::to_string(free_link_local_block()) + ".";
  m_host_address = prefix + "1";
  m_inner_address = prefix + "2";
  try {
    ip_checked({"netns", "add", m_name});
    ip_checked({"link", "add", m_host_link, "type", "veth", "peer", "name", inner_link});
    ip_checked({"link", "set", inner_link, "netns", m_name});
    ip_checked({"addr", "add", m_host_address + "/30", "dev", m_host_link});
    ip_checked({"link", "set", m_host_link, "up"});
    ip_checked({"-n", m_name, "link", "set", "lo", "up"});
    ip_checked({"-n", m_name, "addr", "add", m_inner_address + "/30", "dev", inner_link});
    ip_checked({"-n", m_name, "link", "set", inner_link, "up"});
  } catch (...) {
    ip({"link", "del", m_host_link});
    ip({"netns", "del", m_name});
    throw;
  }
}

NetNamespace::~NetNamespace() {
  // Deleting the namespace destroys the inner end, and with it the pair.
  ip({"link", "del", m_host_link});
  ip({"netns", "del", m_name});
}

std::vector<std::string> NetNamespace::command_prefix() const {
  return {"ip", "netns", "exec", m_name};
}

void NetNamespace::link_down() {
  ip_checked({"link", "set", m_host_link, "down"});
}

void NetNamespace::link_up() {
  ip_checked({"link", "set", m_host_link, "up"});
}

}  // namespace streamtrack::testing
