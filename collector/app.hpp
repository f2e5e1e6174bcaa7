#pragma once

#include "collector/config/collector_config.hpp"
#include "collector/setup/setup_db.hpp"

// What collector/main.cpp dispatches to. Each returns the process exit code.
namespace streamtrack::collector {

// Runs the daemon until SIGTERM/SIGINT; SIGHUP reloads the configuration.
int run_daemon(CollectorConfig config);

// Applies the schema migrations and exits.
int run_migrations(const CollectorConfig& config);

// `setup-db`: creates the roles, database and schema (setup::run_setup), or with `print_sql`
// prints the same as a psql script. Password files hold the password on their first line.
// Prints each step and what to put in collector.toml and web.toml; errors go to stderr with
// exit code 1 (2 for a bad option).
struct SetupCommand {
  setup::SetupOptions options;
  std::string writer_password_file;
  std::string reader_password_file;
  bool print_sql = false;
};
int run_setup_db(SetupCommand command);

}  // namespace streamtrack::collector
