// streamtrack-collector: flags, config, dispatch. Everything else lives in collector_core.
#include <CLI/CLI.hpp>
#include <iostream>

#include "collector/app.hpp"
#include "common/config/cli.hpp"
#include "common/util/guarded_main.hpp"
#include "common/version.hpp"

namespace {

int run_main(int argc, char** argv) {
  using namespace streamtrack;
  CLI::App cli{
      "streamtrack-collector: stores StreamTrack samples from MQTT in PostgreSQL and "
      "raises alerts"};
  config::ConfigFlags config_flags;
  bool migrate_only = false;
  bool version = false;
  config::add_config_flags(cli, config_flags, "/etc/streamtrack/collector.toml");
  cli.add_flag("--migrate-only", migrate_only, "Apply database migrations and exit");
  cli.add_flag("--version", version, "Print the version and exit");

  collector::SetupCommand setup;
  auto* setup_db = cli.add_subcommand(
      "setup-db",
      "Create the database, a writer role for the collector and a read-only role "
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
  auto resolved = config::resolve_config<collector::CollectorConfig>(
      config_flags, collector::collector_config_example, collector::load_collector_config,
      [](const collector::CollectorConfig& c) {
        return " (" + std::to_string(c.alerts.size()) + " alert rules)";
      });
  if (const auto* exit_code = std::get_if<int>(&resolved)) return *exit_code;
  auto& config = std::get<collector::CollectorConfig>(resolved);
  if (migrate_only) return collector::run_migrations(config);
  return collector::run_daemon(std::move(config));
}

}  // namespace

int main(int argc, char** argv) {
  return streamtrack::guarded_main("streamtrack-collector", [&] { return run_main(argc, argv); });
}
