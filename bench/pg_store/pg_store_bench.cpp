// PostgreSQL's CPU per row for the collector's batch write alone (PgStore::write), without the
// broker, the collector's threads or group commit deciding batch sizes: the samples of
// collector_ingest_bench (1,000 channels, a new broadcast every 40 samples of a channel) cut
// into batches of a fixed size and written one after the other by one PgStore, beside a plain
// COPY of the same rows into the same (emptied) table (the median of three), measured in the
// same run. The server's CPU is that of its postmaster and every process it started (the
// writer's backend, walwriter, checkpointer...), those that ended too.
//   pg_store_bench [samples=100000] [batch_rows=3000]
#include <libpq-fe.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "bench/common/ingest_stack.hpp"
#include "bench/common/pg_copy.hpp"
#include "collector/store/migrations.hpp"
#include "collector/store/pg_store.hpp"
#include "common/util/guarded_main.hpp"
#include "tests/collector/integration/queued_sample.hpp"
#include "tests/support/harness.hpp"

using namespace streamtrack;
using namespace streamtrack::testing;

static int run_bench(int argc, char** argv) {
  const int samples = argc > 1 ? std::atoi(argv[1]) : 100'000;
  const int batch_rows = argc > 2 ? std::atoi(argv[2]) : 3'000;
  PostgresServer pg;
  const auto dsn = pg.create_database("streamtrack");
  collector::store::ConnectOptions options;
  options.dsn = dsn;
  {
    collector::store::PgConnection conn(options);
    collector::store::apply_migrations(conn);
  }
  std::vector<std::vector<collector::ingest::Item>> batches(1);
  const auto base = SystemClock::instance().now() - std::chrono::hours{1};
  for (int i = 0; i < samples; ++i) {
    auto s = bench::realistic_sample(i, 1000, base, std::chrono::milliseconds{10}, 40);
    s.agent = "agent-" + std::to_string(i % 1000 % 5);
    s.seq = i / 5 + 1;
    if (static_cast<int>(batches.back().size()) == batch_rows) batches.emplace_back();
    batches.back().push_back(queued_sample(std::move(s)));
  }

  collector::store::PgStore store(options, std::chrono::minutes{5});
  const pid_t postmaster = bench::postmaster_pid(dsn);
  const double cpu_before = bench::postgres_cpu_seconds(postmaster);
  for (const auto& batch : batches) {
    const auto outcome = store.write(batch);
    if (outcome.status != Outcome::ok) {
      std::cerr << "write failed: " << outcome.error << "\n";
      return 1;
    }
  }
  const double cpu_ingest = bench::postgres_cpu_seconds(postmaster) - cpu_before;

  PGconn* conn = PQconnectdb(dsn.c_str());
  const auto rows = bench::copy_out(conn, "COPY (SELECT * FROM livestream_metrics) TO STDOUT");
  const double cpu_copy = bench::copy_baseline(conn, "livestream_metrics", rows, postmaster, false)
                              .median_pg_cpu_seconds;
  PQfinish(conn);
  if (std::stoi(pg_scalar(dsn, "SELECT count(*) FROM livestream_metrics")) != samples) {
    std::cerr << "baseline COPY stored another number of rows\n";
    return 1;
  }
  std::printf("samples %d in batches of %d\n", samples, batch_rows);
  std::printf("PostgreSQL CPU per row  %6.1f us PgStore::write, %.1f us plain COPY: ratio %.2f\n",
              cpu_ingest * 1e6 / samples, cpu_copy * 1e6 / samples, cpu_ingest / cpu_copy);
  return 0;
}

int main(int argc, char** argv) {
  return streamtrack::guarded_main("pg_store_bench", [&] { return run_bench(argc, argv); });
}
