#pragma once

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

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

// One COPY of a baseline: its wall time and the server's CPU time, in seconds.
struct CopyRun {
  double seconds = 0;
  double pg_cpu_seconds = 0;
};

// The raw-COPY baseline of `rows` into `table`, measured `runs` times (the table emptied
// before each, and with `checkpoint` a CHECKPOINT too, outside the measurement). On this
// shared 2-core machine one COPY of a few seconds varied by up to 1.7x between consecutive
// runs, more than the goals' margins; the median of an odd number of runs is what a ratio is
// taken against. Wall and CPU medians are taken separately. The table holds `rows` once
// afterwards. Throws when a statement fails or `runs` is not odd.
struct CopyBaseline {
  std::vector<CopyRun> runs;
  double median_seconds = 0;
  double median_pg_cpu_seconds = 0;
};

inline CopyBaseline copy_baseline(PGconn* conn, const std::string& table, const std::string& rows,
                                  pid_t postmaster, bool checkpoint, int runs = 3) {
  if (runs < 1 || runs % 2 == 0) throw std::invalid_argument("bench: an odd number of COPY runs");
  const auto command = [conn](const std::string& sql) {
    PGresult* r = PQexec(conn, sql.c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) throw std::runtime_error("bench: " + sql + " failed: " + PQerrorMessage(conn));
  };
  CopyBaseline baseline;
  for (int i = 0; i < runs; ++i) {
    command("TRUNCATE " + table);
    if (checkpoint) command("CHECKPOINT");
    const double cpu_before = postgres_cpu_seconds(postmaster);
    const auto start = std::chrono::steady_clock::now();
    if (!copy_in(conn, table, rows)) throw std::runtime_error("bench: baseline COPY failed");
    baseline.runs.push_back(
        {std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
         postgres_cpu_seconds(postmaster) - cpu_before});
  }
  const auto median = [&](double CopyRun::*field) {
    std::vector<double> v;
    for (const auto& run : baseline.runs) v.push_back(run.*field);
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  baseline.median_seconds = median(&CopyRun::seconds);
  baseline.median_pg_cpu_seconds = median(&CopyRun::pg_cpu_seconds);
  return baseline;
}

// "1.52 s, 1.31 s, 1.48 s": each run's wall time, for the report.
inline std::string run_seconds_text(const CopyBaseline& baseline) {
  std::string text;
  char buf[32];
  for (const auto& run : baseline.runs) {
    std::snprintf(buf, sizeof buf, "%s%.2f s", text.empty() ? "" : ", ", run.seconds);
    text += buf;
  }
  return text;
}

}  // namespace streamtrack::bench
