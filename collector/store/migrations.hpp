#pragma once

#include <optional>
#include <string>
#include <vector>

#include "collector/store/pg_connection.hpp"

namespace streamtrack::collector::store {

struct Migration {
  int version;
  std::string description;
  std::string sql;
};

// The table that records applied versions (created before the first migration).
inline constexpr const char* k_schema_migrations_table_sql =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
    "description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())";

// Every schema version, oldest first. Applied versions are never edited; changes are new ones.
const std::vector<Migration>& migrations();

// Applies the migrations not yet recorded in schema_migrations, each in its own transaction,
// holding an advisory lock so that collectors starting together apply each one once; a
// migration runs without statement_timeout (the connection's lock_timeout still applies).
// Returns the versions applied now. With `up_to`, stops after that version (tests of a
// migration start from the schema before it). Throws PgError.
std::vector<int> apply_migrations(PgConnection& conn, std::optional<int> up_to = std::nullopt);

}  // namespace streamtrack::collector::store
