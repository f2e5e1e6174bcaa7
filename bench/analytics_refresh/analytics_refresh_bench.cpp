// Cost of the hourly analytics refresh (collector/analytics refresh_hourly) as history grows:
// the same work over a small history and over a large one, each in its own fresh database of
// one PostgreSQL server. The work, as the collector does it: a batch of one new sample for
// each of 1,000 live streams, written by the collector's own PgStore (so analytics_dirty holds
// what a writer leaves there), then one refresh; repeated. The history (one sample every 10 s
// per stream, its hours already refreshed) ends an hour before the refreshed hour, in the same
// monthly partition: the 15th of next month at noon, whatever the day the benchmark runs (on
// the 1st, "now" would put the refreshed hour in a partition of its own).
// Both histories are loaded first, then their refreshes alternate. Figures: the refreshing
// backend's time on a CPU per refresh (/proc/<pid>/schedstat, in ns) and the wall time; the goal
// is the large history costing at most 1.5x the small one.
//   analytics_refresh_bench [small rows=100000] [large rows=10000000] [refreshes=20]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/common/proc_stats.hpp"
#include "collector/analytics/hourly.hpp"
#include "collector/partitions/partition_manager.hpp"
#include "collector/store/migrations.hpp"
#include "collector/store/pg_store.hpp"
#include "common/wire/codec.hpp"
#include "tests/support/harness.hpp"

namespace {

using namespace streamtrack;
using Steady = std::chrono::steady_clock;

constexpr int k_streams = 1000;
constexpr auto k_sample_interval = std::chrono::seconds{10};

struct Cost {
  double cpu_ms = 0;   // the backend's time on a CPU per refresh
  double wall_ms = 0;  // per refresh
};

// Noon on the 15th of the month after `now`'s, in UTC: a day and a half of history before it
// (10M rows at one sample per 10 s per stream) stays in its month.
TimePoint refreshed_hour_start(TimePoint now) {
  using namespace std::chrono;
  const auto next = collector::partitions::add_months(collector::partitions::month_of(now), 1);
  const year_month_day day{year{next.year}, month{static_cast<unsigned>(next.month)}, 15d};
  return TimePoint{sys_days{day}} + hours{12};
}

// One sample per stream at `ts`, as ingest hands them to a writer.
std::vector<collector::ingest::Item> batch_at(TimePoint ts, std::int64_t first_seq) {
  std::vector<collector::ingest::Item> batch;
  batch.reserve(k_streams);
  for (int i = 0; i < k_streams; ++i) {
    const auto n = std::to_string(i);
    Sample s;
    s.agent = "bench";
    s.seq = first_seq + i;
    s.ts = ts;
    s.platform = "bench";
    s.channel = "c";
    s.channel += n;
    s.live = true;
    s.stream_id = "s";
    *s.stream_id += n;
    s.viewers = 500 + i;
    s.chat_messages = 3;
    s.chatters = 2;
    s.bitrate_kbps = 2500.5;
    collector::ingest::Item item;
    item.kind = collector::ingest::Item::Kind::sample;
    item.received_at = ts;
    item.topic = "st/v1/bench/metrics/bench/";
    item.topic += s.channel;
    item.agent = s.agent;
    item.payload = wire::encode_sample(s);
    item.payload_bytes = item.payload.size();
    item.sample = std::move(s);
    batch.push_back(std::move(item));
  }
  return batch;
}

void write(collector::store::PgStore& store, const std::vector<collector::ingest::Item>& batch) {
  const auto outcome = store.write(batch);
  if (outcome.status != Outcome::ok) {
    throw std::runtime_error("analytics_refresh_bench: write failed: " + outcome.error);
  }
}

// One database with `rows` of history, ready for refreshes of the hour after it.
struct History {
  std::unique_ptr<collector::store::PgConnection> conn;
  std::unique_ptr<collector::store::PgStore> store;
  TimePoint hour;
  pid_t backend = 0;  // conn's backend, which runs the refreshes
  Cost total;
};

History load_history(testing::PostgresServer& pg, const std::string& name, long rows) {
  const auto dsn = pg.create_database(name);
  collector::store::ConnectOptions options;
  options.dsn = dsn;
  History h;
  h.conn = std::make_unique<collector::store::PgConnection>(options);
  auto& conn = *h.conn;
  collector::store::apply_migrations(conn);
  collector::partitions::maintain_partitions(conn, SystemClock::instance().now(), {});
  h.store = std::make_unique<collector::store::PgStore>(options, std::chrono::minutes{5});

  h.hour = refreshed_hour_start(SystemClock::instance().now());
  const long per_stream = rows / k_streams;
  const auto history_end = h.hour - std::chrono::hours{1};
  // The streams' channels and sessions, made by the collector's writer, with their first
  // sample just before the history.
  write(*h.store, batch_at(history_end - k_sample_interval * per_stream, 1));
  // History in chunks, so that no statement is huge.
  const long chunk = 100'000 / k_streams;
  for (long from = 0; from < per_stream; from += chunk) {
    const long to = std::min(per_stream, from + chunk) - 1;
    conn.exec(
        "INSERT INTO livestream_metrics SELECT l.id, $1::timestamptz - g * interval '10 seconds', "
        "(g % 1000)::int, g % 50, g % 20, 2500, 30, 0, 'history', l.id * 100000000 + g "
        "FROM livestreams l, generate_series(" +
            std::to_string(from) + ", " + std::to_string(to) + ") g",
        {format_rfc3339(history_end)});
  }
  // The history's hours refreshed, as the collector would have done hour by hour.
  conn.exec(
      "INSERT INTO analytics_dirty (livestream_id, hour) SELECT DISTINCT livestream_id, "
      "date_trunc('hour', \"timestamp\" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' "
      "FROM livestream_metrics");
  collector::analytics::refresh_hourly(conn);
  // As autovacuum and the checkpointer would have left an older history: the measured refresh
  // neither sets hint bits on the loaded rows nor writes out the pages the load dirtied (with
  // 10M rows, shared_buffers is full of them and a backend needing a buffer writes one first).
  conn.exec("VACUUM ANALYZE");
  conn.exec("CHECKPOINT");
  h.backend = static_cast<pid_t>(std::stol(conn.exec("SELECT pg_backend_pid()").text(0, 0)));
  return h;
}

// Refresh number `i` of `h`: a batch of one sample per stream, then one refresh, its cost added
// to h.total.
void refresh(History& h, int i) {
  write(*h.store,
        batch_at(h.hour + std::chrono::seconds{i}, static_cast<std::int64_t>(i + 2) * k_streams));
  const double cpu0 = bench::on_cpu_seconds(h.backend);
  const auto t0 = Steady::now();
  collector::analytics::refresh_hourly(*h.conn);
  h.total.wall_ms += std::chrono::duration<double, std::milli>(Steady::now() - t0).count();
  h.total.cpu_ms += (bench::on_cpu_seconds(h.backend) - cpu0) * 1000;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const long small = argc > 1 ? std::atol(argv[1]) : 100'000;
  const long large = argc > 2 ? std::atol(argv[2]) : 10'000'000;
  const int refreshes = argc > 3 ? std::atoi(argv[3]) : 20;
  try {
    testing::PostgresServer pg;
    auto small_history = load_history(pg, "small", small);
    auto large_history = load_history(pg, "large", large);
    // The two histories' refreshes alternate, so that a machine whose speed drifts over the
    // minutes a large history takes to load weighs on both alike.
    for (int i = 0; i < refreshes; ++i) {
      refresh(small_history, i);
      refresh(large_history, i);
    }
    const Cost s{small_history.total.cpu_ms / refreshes, small_history.total.wall_ms / refreshes};
    const Cost l{large_history.total.cpu_ms / refreshes, large_history.total.wall_ms / refreshes};
    std::printf(
        "analytics_refresh: %d refreshes each after a batch of one sample for each of %d "
        "streams\n",
        refreshes, k_streams);
    std::printf("  history %9ld rows: backend CPU %.2f ms, wall %.2f ms per refresh\n", small,
                s.cpu_ms, s.wall_ms);
    std::printf("  history %9ld rows: backend CPU %.2f ms, wall %.2f ms per refresh\n", large,
                l.cpu_ms, l.wall_ms);
    const double ratio = s.cpu_ms > 0 ? l.cpu_ms / s.cpu_ms : l.wall_ms / s.wall_ms;
    std::printf(
        "goal analytics_refresh: %s ratio %.2f (backend CPU per refresh, %ld rows of history "
        "/ %ld rows; wall ratio %.2f; goal <= 1.5)\n",
        ratio <= 1.5 ? "met" : "NOT met", ratio, large, small, l.wall_ms / s.wall_ms);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "analytics_refresh_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
