// Cost of the hourly analytics refresh (collector/analytics refresh_hourly) as history grows:
// the same work (the current hour of 1,000 live streams, one new sample each, then the refresh)
// over a small history and over a large one, each in its own fresh database of one PostgreSQL
// server. Figures: the PostgreSQL backend's CPU (from /proc) and wall time per refresh; the goal
// is the large history costing at most 1.5x the small one.
//   analytics_refresh_bench [small rows=100000] [large rows=10000000] [refreshes=20]
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "bench/common/proc_stats.hpp"
#include "collector/analytics/hourly.hpp"
#include "collector/partitions/partition_manager.hpp"
#include "collector/store/migrations.hpp"
#include "tests/support/harness.hpp"

namespace {

using namespace streamtrack;
using Steady = std::chrono::steady_clock;

constexpr int k_streams = 1000;

struct Cost {
  double cpu_ms = 0;   // backend CPU per refresh
  double wall_ms = 0;  // per refresh
};

Cost measure(testing::PostgresServer& pg, const std::string& name, long rows, int refreshes) {
  const auto dsn = pg.create_database(name);
  collector::store::ConnectOptions options;
  options.dsn = dsn;
  collector::store::PgConnection conn(options);
  collector::store::apply_migrations(conn);
  collector::partitions::maintain_partitions(conn, SystemClock::instance().now(), {});
  conn.exec(
      "INSERT INTO channels (platform, name) SELECT 'bench', 'c' || g "
      "FROM generate_series(1, " +
      std::to_string(k_streams) + ") g");
  conn.exec(
      "INSERT INTO livestreams (channel_id, session_key, started_at, last_sample_at) "
      "SELECT id, 'id:' || id, now() - interval '400 days', now() FROM channels");
  // History: one sample every 10 s per stream, ending an hour ago (so the refreshed hour holds
  // the same rows whatever the history), in chunks so that no statement is huge.
  const long per_stream = rows / k_streams;
  const long chunk = 100'000 / k_streams;
  for (long from = 0; from < per_stream; from += chunk) {
    const long to = std::min(per_stream, from + chunk) - 1;
    conn.exec(
        "INSERT INTO livestream_metrics SELECT l.id, "
        "now() - interval '1 hour' - g * interval '10 seconds', "
        "(g % 1000)::int, g % 50, g % 20, 2500, 30, 0, 'bench', l.id * 100000000 + g "
        "FROM livestreams l, generate_series(" +
        std::to_string(from) + ", " + std::to_string(to) + ") g");
  }
  conn.exec("ANALYZE");
  conn.exec("DELETE FROM analytics_dirty");
  const auto backend =
      static_cast<pid_t>(std::stol(conn.exec("SELECT pg_backend_pid()").text(0, 0)));
  double cpu = 0;
  double wall = 0;
  for (int i = 0; i < refreshes; ++i) {
    conn.exec("INSERT INTO livestream_metrics SELECT id, now() + " + std::to_string(i + 1) +
              " * interval '1 millisecond', 500, 1, 1, 2500, 30, 0, 'new', " +
              std::to_string(i + 1) + " * 1000 + id FROM livestreams");
    conn.exec(
        "INSERT INTO analytics_dirty (livestream_id, hour) SELECT id, "
        "date_trunc('hour', now()) FROM livestreams");
    const double cpu0 = bench::cpu_seconds(backend);
    const auto t0 = Steady::now();
    collector::analytics::refresh_hourly(conn);
    wall += std::chrono::duration<double, std::milli>(Steady::now() - t0).count();
    cpu += (bench::cpu_seconds(backend) - cpu0) * 1000;
  }
  return {cpu / refreshes, wall / refreshes};
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const long small = argc > 1 ? std::atol(argv[1]) : 100'000;
  const long large = argc > 2 ? std::atol(argv[2]) : 10'000'000;
  const int refreshes = argc > 3 ? std::atoi(argv[3]) : 20;
  testing::PostgresServer pg;
  const auto s = measure(pg, "small", small, refreshes);
  const auto l = measure(pg, "large", large, refreshes);
  std::printf("analytics_refresh: refresh of the current hour of %d streams, %d refreshes each\n",
              k_streams, refreshes);
  std::printf("  history %9ld rows: backend CPU %.2f ms, wall %.2f ms per refresh\n", small,
              s.cpu_ms, s.wall_ms);
  std::printf("  history %9ld rows: backend CPU %.2f ms, wall %.2f ms per refresh\n", large,
              l.cpu_ms, l.wall_ms);
  const double ratio = s.cpu_ms > 0 ? l.cpu_ms / s.cpu_ms : l.wall_ms / s.wall_ms;
  std::printf(
      "goal analytics_refresh: %s ratio %.2f (backend CPU per refresh, %ld rows of history "
      "/ %ld rows; wall ratio %.2f; goal <= 1.5)\n",
      ratio <= 1.5 ? "met" : "NOT met", ratio, large, small, l.wall_ms / s.wall_ms);
  return 0;
}
