#pragma once

#include <string>
#include <vector>

#include "collector/store/pg_connection.hpp"

namespace streamtrack::collector::store {

struct Migration {
  int version;
  std::string description;
  std::string sql;
};

// Every schema version, oldest first. Applied versions are never edited; changes are new ones.
const std::vector<Migration>& migrations();

// Applies the migrations not yet recorded in schema_migrations, each in its own transaction,
// holding an advisory lock so that collectors starting together apply each one once.
// Returns the versions applied now. Throws PgError.
std::vector<int> apply_migrations(PgConnection& conn);

}  // namespace streamtrack::collector::store
