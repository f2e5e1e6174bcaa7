// Placeholders until the collector (issue 5) lands: they say so and fail, rather than pretend.
#include <iostream>

#include "collector/app.hpp"

namespace streamtrack::collector {

int run_daemon(CollectorConfig) {
  std::cerr << "streamtrack-collector: the daemon is not implemented yet\n";
  return 3;
}

int run_migrations(const CollectorConfig&) {
  std::cerr << "streamtrack-collector: --migrate-only is not implemented yet\n";
  return 3;
}

}  // namespace streamtrack::collector
