#pragma once

#include <string>

#include "tests/support/harness.hpp"

// Where a PostgreSQL server's time went, statement by statement, for a server started with
// PostgresServer::Options::track_statements (pg_stat_statements, track = all). Counting costs
// the server time of its own, so a run that prints this is a profile, not a measurement.
namespace streamtrack::bench {

// Starts counting afresh (creating the extension in `dsn`'s database if need be).
inline void reset_statement_profile(const std::string& dsn) {
  testing::pg_scalar(dsn,
                     "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; "
                     "SELECT pg_stat_statements_reset(); SELECT 1");
}

// The `top` statements since the last reset_statement_profile(), by total execution time, one
// line each: where it ran ("top" for a client's statement, "nested" for one inside a function,
// whose time its caller's includes), calls, rows, total milliseconds and the statement's first
// 160 characters on one line.
inline std::string statement_profile(const std::string& dsn, int top = 25) {
  return testing::pg_scalar(
      dsn,
      "SELECT string_agg(format('%6s %6s calls %8s rows %9s ms  %s', "
      "CASE WHEN toplevel THEN 'top' ELSE 'nested' END, calls, rows, "
      "round(total_exec_time::numeric, 1), "
      "left(regexp_replace(query, '\\s+', ' ', 'g'), 160)), E'\\n' "
      "ORDER BY total_exec_time DESC) "
      "FROM (SELECT * FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT " +
          std::to_string(top) + ") s");
}

}  // namespace streamtrack::bench
