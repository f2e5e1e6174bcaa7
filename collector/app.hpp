#pragma once

#include "collector/config/collector_config.hpp"

// What collector/main.cpp dispatches to. Each returns the process exit code.
namespace streamtrack::collector {

// Runs the daemon until SIGTERM/SIGINT; SIGHUP reloads the configuration.
int run_daemon(CollectorConfig config);

// Applies the schema migrations and exits.
int run_migrations(const CollectorConfig& config);

}  // namespace streamtrack::collector
