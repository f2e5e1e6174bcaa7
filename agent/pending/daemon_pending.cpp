// Placeholder until the outbox and publisher (issue 4) lands: it says so and fails, rather than pretend.
// Delete this file when the real implementation exists.
#include <iostream>

#include "agent/app.hpp"

namespace streamtrack::agent {

int run_daemon(AgentConfig) {
  std::cerr << "streamtrack-agent: the daemon is not implemented yet\n";
  return 3;
}

int run_outbox_command(const AgentConfig&, const std::string&) {
  std::cerr << "streamtrack-agent: outbox commands are not implemented yet\n";
  return 3;
}

}  // namespace streamtrack::agent
