#pragma once

#include <string>

#include "agent/config/agent_config.hpp"

// What agent/main.cpp dispatches to. Each returns the process exit code.
namespace streamtrack::agent {

// Runs the daemon until SIGTERM/SIGINT; SIGHUP reloads `config_path`.
int run_daemon(AgentConfig config);

// Polls every source once and prints the samples as JSON lines on stdout (no broker).
int run_once(const AgentConfig& config);

// `outbox stats` / `outbox export`.
int run_outbox_command(const AgentConfig& config, const std::string& command);

}  // namespace streamtrack::agent
