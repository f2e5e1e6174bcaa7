// Placeholder until the polling engine (issue 3) lands: it says so and fails, rather than pretend.
// Delete this file when the real implementation exists.
#include <iostream>

#include "agent/app.hpp"

namespace streamtrack::agent {

int run_once(const AgentConfig&) {
  std::cerr << "streamtrack-agent: --once is not implemented yet\n";
  return 3;
}

}  // namespace streamtrack::agent
