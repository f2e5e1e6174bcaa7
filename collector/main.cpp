// streamtrack-collector: flags, config, dispatch. Everything else lives in collector_core.
#include <CLI/CLI.hpp>
#include <iostream>

#include "collector/app.hpp"
#include "common/version.hpp"

int main(int argc, char** argv) {
  using namespace streamtrack;
  CLI::App cli{"streamtrack-collector: stores StreamTrack samples from MQTT in PostgreSQL and "
               "raises alerts"};
  std::string config_path = "/etc/streamtrack/collector.toml";
  bool check_config = false;
  bool migrate_only = false;
  bool version = false;
  cli.add_option("-c,--config", config_path, "Configuration file")->capture_default_str();
  cli.add_flag("--check-config", check_config, "Validate the configuration, print errors, exit");
  cli.add_flag("--migrate-only", migrate_only, "Apply database migrations and exit");
  cli.add_flag("--version", version, "Print the version and exit");

  collector::SetupCommand setup;
  auto* setup_db = cli.add_subcommand(
      "setup-db", "Create the database, a writer role for the collector and a read-only role "
                  "for streamtrack-web, and apply the schema (idempotent)");
  setup_db->add_option("--admin-dsn", setup.options.admin_dsn,
                       "libpq connection string of a superuser, e.g. \"dbname=postgres\" run "
                       "as the postgres user");
  setup_db->add_option("--database", setup.options.database, "Database to create")
      ->capture_default_str();
  setup_db->add_option("--writer-role", setup.options.writer_role, "The collector's role")
      ->capture_default_str();
  setup_db->add_option("--reader-role", setup.options.reader_role, "streamtrack-web's role")
      ->capture_default_str();
  setup_db->add_option("--writer-password-file", setup.writer_password_file,
                       "Set the writer's password from this file's first line");
  setup_db->add_option("--reader-password-file", setup.reader_password_file,
                       "Set the reader's password from this file's first line");
  bool no_schema = false;
  setup_db->add_flag("--no-schema", no_schema,
                     "Roles, database and privileges only (before a pg_restore)");
  setup_db->add_flag("--print-sql", setup.print_sql,
                     "Print the same steps as a psql script instead of running them");

  auto* config_command = cli.add_subcommand("config", "Configuration tools");
  config_command->require_subcommand(1);
  config_command->add_subcommand(
      "example",
      "Print the full commented configuration (every key, its default, constraints and "
      "whether SIGHUP applies it), generated from the key declarations");
  CLI11_PARSE(cli, argc, argv);

  if (setup_db->parsed()) {
    if (setup.options.admin_dsn.empty() && !setup.print_sql) {
      std::cerr << "streamtrack-collector setup-db: --admin-dsn is required (or --print-sql)\n";
      return 2;
    }
    setup.options.apply_schema = !no_schema;
    return collector::run_setup_db(std::move(setup));
  }

  if (version) {
    std::cout << "streamtrack-collector " << k_version << "\n";
    return 0;
  }
  if (config_command->parsed()) {
    std::cout << collector::collector_config_example();
    return 0;
  }
  collector::CollectorConfig config;
  try {
    config = collector::load_collector_config(config_path);
  } catch (const config::ConfigError& e) {
    for (const auto& m : e.messages()) std::cerr << m << "\n";
    return 1;
  }
  if (check_config) {
    if (config.files.size() > 1) {
      std::cout << "drop-ins read:";
      for (std::size_t i = 1; i < config.files.size(); ++i) std::cout << " " << config.files[i];
      std::cout << "\n";
    }
    std::cout << config_path << ": OK (" << config.alerts.size() << " alert rules)\n";
    return 0;
  }
  try {
    if (migrate_only) return collector::run_migrations(config);
    return collector::run_daemon(std::move(config));
  } catch (const std::exception& e) {
    std::cerr << "streamtrack-collector: " << e.what() << "\n";
    return 1;
  }
}
