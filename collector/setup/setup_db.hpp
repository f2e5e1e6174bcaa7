#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

// `streamtrack-collector setup-db`: the one documented step that makes a PostgreSQL cluster
// ready for StreamTrack. The same plan is executed over libpq (run_setup) or rendered as a psql
// script (render_psql_script, shipped as /usr/share/streamtrack/sql/setup-db.sql), so the two
// can never grant different things.
namespace streamtrack::collector::setup {

struct SetupOptions {
  std::string admin_dsn;  // a superuser (or CREATEDB + CREATEROLE member of the writer role)
  std::string database = "streamtrack";
  std::string writer_role = "streamtrack";      // the collector's role: owns the schema
  std::string reader_role = "streamtrack_web";  // streamtrack-web's role: SELECT only
  std::optional<std::string> writer_password;   // set when given; never logged
  std::optional<std::string> reader_password;
  // False: roles, database and privileges only, for a pg_restore to fill (the reader's table
  // grants then come from a second run).
  bool apply_schema = true;
};

// The tables and views streamtrack-web reads; the reader role is granted SELECT on exactly
// these. A migration that adds one for the read side adds it here too.
const std::vector<std::string>& reader_relations();

// Throws std::invalid_argument naming the option when a name is not 1-63 characters of
// [A-Za-z0-9_-], or when the writer and reader roles are the same.
void validate(const SetupOptions& options);

// The psql script doing what run_setup does (without passwords: psql's \password sets them).
// Idempotent: each part is skipped or repeated harmlessly when it is already in place.
std::string render_psql_script(const SetupOptions& options);

// Creates (or completes) the roles, the database and its privileges, applies the schema
// migrations as the writer role (which therefore owns every table) and grants the reader
// SELECT on reader_relations(). Idempotent; safe to rerun after an upgrade. Refuses a role
// that already exists with more than LOGIN (superuser, CREATEDB, CREATEROLE, REPLICATION,
// BYPASSRLS). `progress` receives one line per step. Throws store::PgError or
// std::invalid_argument.
void run_setup(const SetupOptions& options,
               const std::function<void(const std::string&)>& progress);

}  // namespace streamtrack::collector::setup
