#pragma once

#include <libpq-fe.h>

#include <algorithm>
#include <cstddef>
#include <fstream>
#include <stdexcept>
#include <string>

#include "bench/common/proc_stats.hpp"
#include "tests/support/harness.hpp"

// The raw-COPY baselines of the ingest benchmarks: rows read out in COPY text format and
// written back with one COPY, the cheapest way PostgreSQL stores them.
namespace streamtrack::bench {

// Runs `sql` (a COPY ... TO STDOUT) on `conn`; returns everything it sent.
inline std::string copy_out(PGconn* conn, const std::string& sql) {
  PQclear(PQexec(conn, sql.c_str()));
  std::string data;
  char* buf = nullptr;
  int n = 0;
  while ((n = PQgetCopyData(conn, &buf, 0)) > 0) {
    data.append(buf, static_cast<std::size_t>(n));
    PQfreemem(buf);
  }
  PQclear(PQgetResult(conn));
  return data;
}

// COPYs `rows` (COPY text format) into `table` in 1 MiB pieces; true when the server took them.
inline bool copy_in(PGconn* conn, const std::string& table, const std::string& rows) {
  PQclear(PQexec(conn, ("COPY " + table + " FROM STDIN").c_str()));
  constexpr std::size_t k_piece = std::size_t{1} << 20;
  for (std::size_t at = 0; at < rows.size(); at += k_piece) {
    PQputCopyData(conn, rows.data() + at, static_cast<int>(std::min(k_piece, rows.size() - at)));
  }
  PQputCopyEnd(conn, nullptr);
  PGresult* r = PQgetResult(conn);
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  return ok;
}

// The pid of the PostgreSQL server at `dsn` (its postmaster), from its data directory; throws
// when it cannot be read.
inline pid_t postmaster_pid(const std::string& dsn) {
  const auto data_dir = testing::pg_scalar(dsn, "SHOW data_directory");
  std::ifstream pid_file(data_dir + "/postmaster.pid");
  pid_t postmaster = 0;
  if (!(pid_file >> postmaster) || postmaster <= 0) {
    throw std::runtime_error("bench: no postmaster pid in " + data_dir + "/postmaster.pid");
  }
  return postmaster;
}

// CPU seconds the PostgreSQL server whose postmaster is `postmaster` has used so far: the
// postmaster and every process it started (backends, checkpointer, WAL writer, autovacuum
// workers), those that ended too.
inline double postgres_cpu_seconds(pid_t postmaster) {
  return process_tree_cpu_seconds(postmaster);
}

}  // namespace streamtrack::bench
