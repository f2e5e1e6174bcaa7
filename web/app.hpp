#pragma once

#include "web/config/web_config.hpp"

// What web/main.cpp dispatches to. Returns the process exit code.
namespace streamtrack::web {

// Serves the dashboard, the API and live updates until SIGTERM/SIGINT. Waits (with backoff)
// for PostgreSQL before READY=1; startup errors (address in use, ...) throw.
int run_daemon(const WebConfig& config);

}  // namespace streamtrack::web
